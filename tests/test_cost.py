"""Cost of a production run read from its own LAMMPS logs and benchmark file (lpsflow.cost)."""

from __future__ import annotations

import math

from lpsflow.cost import run_cost

LOG = """LAMMPS (22 Jul 2025)
Loop time of 0.5 on 1 procs for 1 steps with 1000 atoms
Loop time of {t} on 1 procs for {n} steps with 1000 atoms
"""


def test_run_cost_from_logs_and_benchmark(tmp_path):
    (tmp_path / "md").mkdir()
    (tmp_path / "md" / "log.lammps").write_text(LOG.format(t=100.0, n=1000))
    (tmp_path / "ext_1").mkdir()  # an extension run in its own folder counts too
    (tmp_path / "ext_1" / "log.lammps").write_text(LOG.format(t=49.0, n=500))
    bench = tmp_path / "bench.tsv"
    bench.write_text("s\th:m:s\tmax_rss\tcpu_time\n180.0\t0:03:00\t900\t170.0\n")
    cost = run_cost(tmp_path, cores=4, timestep_fs=2.0, benchmark=bench)
    assert cost["atoms"] == 1000 and cost["md_steps"] == 1502
    assert math.isclose(cost["atom_steps_per_s"], 1502 * 1000 / 150.0)
    assert math.isclose(cost["atom_steps_per_s_per_core"], cost["atom_steps_per_s"] / 4)
    assert math.isclose(cost["simulated_ns"], 1502 * 2e-6)
    assert math.isclose(cost["core_hours"], 180.0 * 4 / 3600)
    assert math.isclose(cost["core_hours_per_ns"], cost["core_hours"] / cost["simulated_ns"])
    # without the benchmark file: the MD wall time stands for the job's
    alone = run_cost(tmp_path, cores=1, timestep_fs=1.0)
    assert math.isclose(alone["core_hours"], 150.0 / 3600) and math.isnan(alone["job_wall_s"])


def test_run_cost_of_a_run_without_log_is_nan(tmp_path):
    cost = run_cost(tmp_path, cores=1, timestep_fs=1.0)
    assert cost["md_steps"] == 0 and math.isnan(cost["atom_steps_per_s"])


def test_run_cost_takes_the_jobs_own_wall_time(tmp_path):
    """run_production measures its own wall time: it wins over a benchmark file."""
    (tmp_path / "log.lammps").write_text(LOG.format(t=99.5, n=1000))
    bench = tmp_path / "bench.tsv"
    bench.write_text("s\th:m:s\tmax_rss\tcpu_time\n999.0\t0:16:39\t900\t170.0\n")
    cost = run_cost(tmp_path, cores=2, timestep_fs=1.0, benchmark=bench, job_wall_s=360.0)
    assert cost["job_wall_s"] == 360.0
    assert math.isclose(cost["core_hours"], 360.0 * 2 / 3600)
    assert math.isclose(cost["atom_steps_per_s_per_core"], 1001 * 1000 / 100.0 / 2)
