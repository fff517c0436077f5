"""Benchmarks (bench/): the runner finds every script, each script's smoke mode runs and
writes a complete record, and the parsers the benchmarks rely on read real formats."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, needs_cp2k

sys.path.insert(0, str(REPO / "bench"))

import cl_vs_random  # noqa: E402
import demo_campaign  # noqa: E402
import dp_vs_aimd  # noqa: E402
import pytest_durations  # noqa: E402
import run  # noqa: E402
import workflow_overhead  # noqa: E402

BENCHMARKS = [
    "cl_vs_random",
    "cp2k_crystal_density",
    "demo_campaign",
    "dp_vs_aimd",
    "glass_stage",
    "precision",
    "production_cost",
    "pytest_durations",
    "resource_estimates",
    "teacher_card",
    "transport_analysis",
    "workflow_overhead",
]


def smoke(name: str, out: Path, *extra: str) -> dict:
    cmd = [sys.executable, str(REPO / "bench" / "run.py"), "--smoke", name, "--out", str(out)]
    proc = subprocess.run(
        [*cmd, "--", *extra] if extra else cmd,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    record = json.loads((out / f"{name}.json").read_text())
    for key in (
        "figures",
        "inputs",
        "versions",
        "cores",
        "date",
        "loadavg_start",
        "loadavg_end",
        "command",
    ):
        assert key in record, key
    assert record["smoke"] is True
    assert len(record["loadavg_start"]) == 3 and record["cores"] >= 1
    assert record["versions"]["python"]
    return record


def test_runner_discovers_every_benchmark_and_no_helper():
    assert run.discover() == BENCHMARKS


def test_runner_table_has_a_row_per_figure():
    rec = {
        "name": "x",
        "status": "measured",
        "loadavg_start": [1.0, 0, 0],
        "loadavg_end": [2.0, 0, 0],
        "figures": {
            "a": {"value": 1.5, "unit": "s", "target": "< 2"},
            "b": {"value": 3, "unit": "", "target": ""},
        },
    }
    rows = run.table([rec]).splitlines()
    assert len(rows) == 4
    assert rows[2] == "| x | a | 1.5 | s | < 2 | measured | 1.0 / 2.0 |"


def test_smoke_teacher_comparison(tmp_path):
    runs = tmp_path / "runs"
    test_set = REPO / "bench" / "data" / "teacher_LPS75_16atoms_T1000.extxyz"
    record = smoke("cl_vs_random", tmp_path, "--workdir", str(runs), "--test-set", str(test_set))
    ok, _ = cl_vs_random.teacher_available()
    if not ok:  # no invented number while the teacher labeller is missing
        assert record["status"] == "pending" and record["figures"] == {}
    else:  # both campaigns ran their one iteration (no test set in smoke mode: no figure)
        assert record["status"] != "pending"
        assert sorted(p.name for p in runs.iterdir() if p.is_dir()) == ["fps_0", "random_all_0"]
        for name in ("fps_0", "random_all_0"):
            assert (runs / name / "results" / "loop" / "iterations.csv").exists()
            assert len(record["details"]["excluded"][name]) >= 1
            assert record["details"]["median_largest_force_of_labels"][name] > 0
            (curve,) = [record["details"]["curves"][test_set.stem][name]]
            assert len(curve) == 1 and curve[0][1] > 0  # the one iteration (0)
            spread = record["details"]["deviation_vs_error_of_last_models"][test_set.stem][name]
            assert spread["iteration"] == 0
            assert 0 < spread["median_max_devi_f"] and 0 < spread["median_largest_force_error"]


def test_wasted_labels_counts_excluded_frames_per_iteration(tmp_path):
    for it, splits in enumerate([["train", "test"], ["train", "excluded", "excluded"]]):
        folder = tmp_path / "results" / f"iter_{it:03d}"
        folder.mkdir(parents=True)
        (folder / "dataset.csv").write_text("key,split\n" + "".join(f"k,{s}\n" for s in splits))
    (tmp_path / "results" / "iter_002").mkdir()  # unfinished: no dataset.csv
    assert cl_vs_random.wasted_labels(tmp_path) == [0, 2]


def test_runner_reads_the_record_a_renamed_run_writes(tmp_path):
    record = run.run_one("demo_campaign", tmp_path, True, ["--name", "renamed"])
    assert record["status"] == "measured" and record["name"] == "renamed"
    assert (tmp_path / "renamed.json").exists() and not (tmp_path / "demo_campaign.json").exists()


def test_select_overrides_parse_and_refuse_the_benchmarks_own_keys():
    assert cl_vs_random.select_overrides(["trust_hi=2.0", "trust_lo=0.3"]) == {
        "trust_hi": 2.0,
        "trust_lo": 0.3,
    }
    for bad in (["method=random"], ["trust_hi"]):
        with pytest.raises(SystemExit):
            cl_vs_random.select_overrides(bad)


def test_largest_force_per_frame():
    forces = np.zeros((2, 3, 3))
    forces[0, 1, 2], forces[1, 0, 0] = -4.0, 1.5
    assert cl_vs_random.largest_force({"forces": forces}) == [4.0, 1.5]


def test_reuse_needs_a_finished_campaign_of_the_same_config(tmp_path):
    import yaml

    config = {"select": {"method": "fps", "seed": 0}}
    assert not cl_vs_random.finished_with(tmp_path, config)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    assert not cl_vs_random.finished_with(tmp_path, config)  # not finished
    (tmp_path / "results" / "loop").mkdir(parents=True)
    (tmp_path / "results" / "loop" / "iterations.csv").write_text("iteration\n0\n")
    assert cl_vs_random.finished_with(tmp_path, config)
    assert not cl_vs_random.finished_with(tmp_path, {"select": {"method": "fps", "seed": 1}})


def test_runner_reads_both_argument_forms():
    assert run.where_written(["--name=a", "--out", "/x"]) == {"--name": "a", "--out": "/x"}
    assert run.where_written(["--name", "a", "--name=b"]) == {"--name": "b"}
    assert run.where_written(["--seeds", "0", "1"]) == {}


def test_smoke_demo_summary(tmp_path):
    record = smoke("demo_campaign", tmp_path)
    f = record["figures"]
    assert f["jobs"]["value"] == 2
    assert f["scheduler overhead per job (median, benchmarked jobs)"]["value"] == pytest.approx(1.5)


def test_smoke_test_suite_durations(tmp_path):
    record = smoke("pytest_durations", tmp_path)
    assert record["figures"]["tests"]["value"]["passed"] > 100


@pytest.mark.slow
def test_smoke_workflow_overhead(tmp_path):
    record = smoke("workflow_overhead", tmp_path)
    assert record["figures"]["labelling jobs for 40 frames"]["value"] == 40  # one per frame
    submissions = record["figures"]["Slurm submissions for 40 frames (profile as shipped)"]
    assert submissions["value"] == 40  # the profile's label group is commented out


@pytest.mark.slow
@needs_cp2k()
def test_smoke_dp_vs_aimd(tmp_path, local_campaign):
    # the tiny campaign's final model (shared session fixture) instead of training one here
    model = local_campaign / "results" / "model"
    record = smoke(
        "dp_vs_aimd",
        tmp_path,
        "--graph",
        str(model / "graph_0.pb"),
        "--compressed",
        str(model / "graph_0_compressed.pb"),
    )
    f = record["figures"]
    assert f["cp2k s/step (16 atoms, 1 thread)"]["value"] > 0
    assert f["dp compressed s/step (16 atoms, 1 thread)"]["value"] > 0
    assert f["atom-steps/s/core compressed (32 atoms)"]["value"] > 0
    if importlib.util.find_spec("chgnet"):  # the teacher in the same table, on the same cells
        assert f["teacher s/step (16 atoms, 1 thread)"]["value"] > 0
        assert f["teacher atom-steps per CPU second (32 atoms)"]["value"] > 0


def test_labels_to_target_takes_first_iteration_at_or_below_target():
    curve = [(10, 0.5), (15, float("nan")), (20, 0.15), (25, 0.1)]
    assert cl_vs_random.labels_to_target(curve, 0.15) == 20
    assert cl_vs_random.labels_to_target(curve, 0.01) is None


def test_campaigns_differ_only_in_selection_and_seeds():
    base = {"select": {"trust_lo": 0.2}, "train": {"steps": 10}}
    a = cl_vs_random.campaign_config(base, "fps", 0, 4, 5)
    b = cl_vs_random.campaign_config(base, cl_vs_random.BASELINE, 0, 4, 5)
    assert a["dft"]["engine"] == "mlip" and a["select"]["max_per_composition"] == 5
    assert (a["select"]["method"], b["select"]["method"]) == ("fps", "random_all")
    a["select"].pop("method"), b["select"].pop("method")
    assert a == b


SNAKEMAKE_LOG = """\
[Wed Nov 25 18:46:53 2026]
localrule sample_structure:
    output: results/sample/A/replica_0.extxyz
    jobid: 10
    wildcards: comp=A, replica=0
[Wed Nov 25 18:46:55 2026]
rule label_batch:
    output: results/init/A/labels/batch_0.csv
    jobid: 4
    benchmark: benchmarks/label/A/batch_0.tsv
[Wed Nov 25 18:46:59 2026]
Finished jobid: 10 (Rule: sample_structure)
1 of 3 steps (33%) done
[Wed Nov 25 18:48:43 2026]
Finished jobid: 4 (Rule: label_batch)
"""


def test_snakemake_log_gives_job_spans():
    jobs = demo_campaign.parse_log(SNAKEMAKE_LOG).set_index("jobid")
    assert jobs.loc[10, "span_s"] == 6 and jobs.loc[4, "span_s"] == 108
    assert jobs.loc[4, "benchmark"] == "benchmarks/label/A/batch_0.tsv"
    assert jobs.loc[4, "rule"] == "label_batch"


def test_pytest_durations_are_summed_per_test():
    text = """\
============================= slowest 3 durations ==============================
12.50s setup    tests/test_a.py::test_x
3.00s call     tests/test_a.py::test_x
4.00s call     tests/test_b.py::test_y
====== 2 passed, 1 skipped, 1 deselected in 20.10s (0:00:20) ======
"""
    d = pytest_durations.parse_durations(text)
    assert d["per_test"][0] == ("tests/test_a.py::test_x", 15.5)
    assert d["counts"] == {"passed": 2, "skipped": 1, "deselected": 1}
    assert d["pytest_s"] == 20.1


def test_job_counts_of_a_dry_run():
    text = "Job stats:\njob            count\n-----  -----\nlabel_batch     50\nall  1\ntotal  51\n"
    assert workflow_overhead.job_counts(text) == {"label_batch": 50, "all": 1}


def test_cp2k_md_input_keeps_the_label_settings(cheap_dft, li3ps4_8):
    text = dp_vs_aimd.cp2k_md_input(li3ps4_8, cheap_dft, steps=3)
    assert "RUN_TYPE MD" in text and "STEPS 3" in text
    assert "STRESS_TENSOR" not in text and "&PRINT" not in text
    assert f"CUTOFF {cheap_dft['cutoff']}" in text and cheap_dft["basis"] in text


def test_cp2k_step_times_read_md_output():
    out = (
        " MD| CPU time per MD step [s]                     26.841747            26.841747\n"
        " MD| CPU time per MD step [s]                     13.634519            20.238133\n"
    )
    assert dp_vs_aimd.cp2k_step_times(out) == [26.841747, 13.634519]


def test_smoke_transport_analysis(tmp_path):
    record = smoke("transport_analysis", tmp_path)
    label = "200 frames x 500 Li, tracer + collective"
    assert record["figures"][f"analysis wall, {label}"]["value"] > 0
    assert 0 < record["figures"][f"peak memory, {label}"]["value"] < 1000
    assert not record["notes"]  # the analysis child exited 0


def test_smoke_teacher_card(tmp_path):
    """The teacher card runs NPT with the engine's own teacher calculator and compares the
    crystal's density with the measured one (the smoke run: 4 steps of one unit cell)."""
    pytest.importorskip("chgnet", reason="teacher extra missing: pip install '.[teacher]'")
    record = smoke("teacher_card", tmp_path)
    (row,) = record["rows"]
    assert (row["teacher"], row["crystal"], row["atoms"]) == ("chgnet-0.3.0", "beta-Li3PS4", 32)
    assert row["measured_density"] == 1.853  # g/cm3, Homma et al. (measured_density.csv)
    assert row["start_density"] == pytest.approx(1.853, rel=1e-3)  # the shipped Homma cell
    # the mean lengths per conventional cell give the mean density (orthorhombic cell)
    a, b, c = row["lengths"]
    assert row["start_density"] * 12.819 * 8.2195 * 6.1236 / (a * b * c) == pytest.approx(
        row["density"], rel=0.01
    )
    expected = 100 * (row["density"] / row["measured_density"] - 1)
    assert row["density_error_pct"] == pytest.approx(expected)
    assert row["atom_steps_per_s"] > 0
    assert len(row["lengths"]) == 3 and not row["lengths_sorted"]
    # the project glass: NPT density, ratio to the same teacher's crystal of its composition,
    # and Li D from the workflow's teacher MD (30 NVT steps in the smoke run)
    assert record["complete"]  # written after each part, marked complete at the end
    (glass,) = record["glass_rows"]
    assert (glass["glass"], glass["atoms"], glass["crystal"]) == ("LPS75", 96, "beta-Li3PS4")
    assert glass["start_density"] == pytest.approx(1.4447, rel=1e-4)  # the shipped glass
    assert glass["crystal_to_glass"] == pytest.approx(row["density"] / glass["density"])
    assert glass["d_temperature_K"] == 800 and glass["D_cm2_s"] > 0
    assert glass["d_run_ps"] == pytest.approx(0.06)  # 30 NVT steps of 2 fs
    # the docs' tables are printed from the record: one line per crystal and per glass
    from teacher_card import table

    crystal_line, glass_line = (
        line for line in table(record).splitlines() if line.startswith("| chgnet-0.3.0 |")
    )
    assert f"| beta-Li3PS4 (32) | {row['density']:.3f} " in crystal_line
    assert f"| {row['density_error_pct']:+.1f} % |" in crystal_line
    assert f"| {glass['crystal_to_glass']:.3f} | {glass['D_cm2_s']:.2e} +- " in glass_line


def test_teacher_card_combine_keeps_one_row_per_crystal_and_both_verdicts(tmp_path):
    """Parts run apart merge into one card under the given name; a part re-run for its glass
    repeats a crystal, whose first row is kept; the closest teacher is named by the largest
    and by the mean density error (they can differ)."""
    import json

    from teacher_card import combine

    def row(teacher, crystal, error):
        return {
            "teacher": teacher,
            "crystal": crystal,
            "density": 1.0 + error / 100,
            "measured_density": 1.0,
            "density_error_pct": error,
            "atom_steps_per_s": 1.0,
        }

    parts = {
        "a": [row("A", "beta-Li3PS4", -5.5), row("A", "Li7P3S11", -7.2)],
        "a_glass": [row("A", "beta-Li3PS4", -9.0)],
        "b": [row("B", "beta-Li3PS4", 7.5), row("B", "Li7P3S11", 3.2)],
    }
    paths = []
    for name, rows in parts.items():
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(
            json.dumps({"name": name, "command": name, "inputs": {"steps": 10}, "rows": rows})
        )
    combine(paths, tmp_path, "card")
    card = json.loads((tmp_path / "card.json").read_text())
    assert [(r["teacher"], r["crystal"], r["density_error_pct"]) for r in card["rows"]] == [
        ("A", "beta-Li3PS4", -5.5),
        ("A", "Li7P3S11", -7.2),
        ("B", "beta-Li3PS4", 7.5),
        ("B", "Li7P3S11", 3.2),
    ]
    assert all(r["steps"] == 10 for r in card["rows"])
    figures = {k: v["value"] for k, v in card["figures"].items()}
    assert figures["closest teacher (largest |density error| over the crystals)"] == "A"
    assert figures["its largest |density error|"] == pytest.approx(7.2)
    assert figures["closest teacher (mean |density error| over the crystals)"] == "B"
    assert figures["its mean |density error|"] == pytest.approx(5.35)


def test_teacher_card_drift():
    """The drift compares the later part of a series with the earlier part, in percent."""
    from teacher_card import drift_pct

    assert drift_pct(np.array([1.0, 1.0, 1.1, 1.1]), 2) == pytest.approx(10.0)
    assert drift_pct(np.array([2.0, 2.0, 2.0]), 1) == 0.0


@needs_cp2k()
def test_smoke_cp2k_crystal_density(tmp_path):
    """CP2K relaxes a shipped crystal (cell and positions, k-points) with the workflow's
    labelling input and the record compares its density with the measured one (the smoke
    run: Li2S, cheap preset, 2 BFGS steps, a 2 x 2 x 2 k-point grid)."""
    workdir = tmp_path / "cell_opt"
    record = smoke("cp2k_crystal_density", tmp_path, "--workdir", str(workdir))
    figures = {k: v["value"] for k, v in record["figures"].items()}
    run = record["run"]
    assert record["inputs"]["crystal"] == "Li2S" and record["inputs"]["kpoints"] == [2, 2, 2]
    assert figures["atoms"] == 12 and figures["cell_opt steps"] == 2
    assert figures["start density (shipped cell)"] == pytest.approx(1.66, abs=0.01)
    # one pressure per printed step (the start and each BFGS step), one cell per BFGS step
    assert len(run["pressure_bar"]) == 3 and len(run["volume_a3"]) == 2
    rho = figures["relaxed density"]
    assert rho != pytest.approx(figures["start density (shipped cell)"], rel=1e-4)  # it moved
    assert figures["density error"] == pytest.approx(100 * (rho / 1.67 - 1))  # measured 1.67
    assert record["measured"]["density_g_cm3"] == 1.67
    assert not run["converged"] and run["finished"]  # 2 steps do not converge a cell
    assert "RUN_TYPE CELL_OPT" in record["cp2k_input"]
    # a run stopped after its first step is read up to the last step printed in full
    from cp2k_crystal_density import read_run

    out = workdir / "cell_opt.out"
    out.write_text(out.read_text().split("Informations at step =     2")[0])
    for name in ("label-1.cell", "label-pos-1.xyz"):
        lines = (workdir / name).read_text().splitlines(keepends=True)
        keep = 2 if name.endswith(".cell") else 14  # header + step 1 / one frame: 2 + 12 lines
        (workdir / name).write_text("".join(lines[:keep]))
    atoms, stopped = read_run(workdir)
    assert not stopped["finished"] and stopped["steps"] == 1 and len(atoms) == 12
    assert stopped["volume_a3"] == pytest.approx(run["volume_a3"][:1])
    assert atoms.get_volume() == pytest.approx(run["volume_a3"][0])


def test_cell_opt_input_is_the_labelling_input():
    """The CELL_OPT input keeps every line of the labelling input but RUN_TYPE; k-points only
    when asked; the angles are kept for an orthogonal cell and free for a triclinic one."""
    from ase.io import read
    from cp2k_crystal_density import cell_opt_input

    from lpsflow.crystals import path
    from lpsflow.dft.cp2k import input_text

    dft = __import__("_common").dft_settings("production")
    beta = read(path("beta-Li3PS4"))
    label = input_text(beta, dft).splitlines()
    gamma = cell_opt_input(beta, dft, 5, (1, 1, 1), 100.0)
    assert set(label) - set(gamma.splitlines()) == {"  RUN_TYPE ENERGY_FORCE"}
    assert "RUN_TYPE CELL_OPT" in gamma and "KPOINTS" not in gamma
    assert "KEEP_ANGLES TRUE" in gamma and "MAX_ITER 5" in gamma
    grid = cell_opt_input(beta, dft, 5, (1, 2, 2), 100.0)
    assert "SCHEME MONKHORST-PACK 1 2 2" in grid
    assert grid.index("&KPOINTS") < grid.index("&END DFT")  # a &DFT subsection
    triclinic = cell_opt_input(read(path("Li7P3S11")), dft, 5, (1, 1, 1), 100.0)
    assert "KEEP_ANGLES FALSE" in triclinic


def test_smoke_precision(tmp_path):
    """Both precisions train on the same teacher frames and are scored and timed."""
    record = smoke("precision", tmp_path)
    figures = record["figures"]
    for prec in ("float32", "float64"):
        assert figures[f"rmse_f {prec} (mean of 1 seeds)"]["value"] > 0
        assert figures[f"atom-steps/s/core compressed {prec} (64 atoms)"]["value"] > 0
    assert record["details"]["rmse"]["float32 seed 1"]["frames"] == 18  # 3 files x 6 frames


def test_smoke_production_cost(tmp_path):
    """Cost per ns from a LAMMPS run; the device is recorded, and no GPU figure invented."""
    record = smoke("production_cost", tmp_path)
    assert record["device"]
    run = record["details"]["runs"]["64"]
    assert run["wall_h_per_ns"] == pytest.approx(64 * 1e6 / run["atom_steps_per_s"] / 3600)
    if not record["device"].startswith("GPU"):
        assert not any("GPU" in key for key in record["figures"])


def test_production_cost_per_ns_arithmetic():
    import production_cost

    cost = production_cost.cost_per_ns(1e4, 1000, 4, 1.0)
    assert cost["wall_h_per_ns"] == pytest.approx(1000 * 1e6 / 1e4 / 3600)
    assert cost["core_h_per_ns"] == pytest.approx(4 * cost["wall_h_per_ns"])


def test_smoke_resource_estimates(tmp_path):
    """Every sized job's dry-run limit is at or above its estimate (the default config)."""
    record = smoke("resource_estimates", tmp_path)
    rules = {job["rule"] for job in record["jobs"]}
    assert {"label_frame", "train_model", "explore_md", "make_glass", "run_production"} <= rules
    assert all(job["ok"] for job in record["jobs"])


def test_script_record_names_its_command_commit_and_keeps_the_order(tmp_path, monkeypatch):
    """The one-file measurement scripts (bench/records/*.py) write their record with the
    command that reproduces it (their own arguments), the commit and the load averages."""
    import _common

    monkeypatch.setattr(_common, "RESULTS", tmp_path)
    monkeypatch.setattr(sys, "argv", ["bench/records/probe.py", "frame.extxyz", "7"])
    path = _common.write_script_record(
        "probe", (0.5, 0.4, 0.3), {"frame": "frame.extxyz"}, {"x": {"value": 1.0}}, notes=["n"]
    )
    data = json.loads(path.read_text())
    assert path == tmp_path / "probe.json"
    assert data["command"] == (
        "PYTHONPATH=src .venv/bin/python bench/records/probe.py frame.extxyz 7"
    )
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    assert data["git"]["commit"] == head.stdout.strip()
    assert list(data)[-2:] == ["figures", "notes"] and data["loadavg_start"] == [0.5, 0.4, 0.3]
    assert len(data["loadavg_end"]) == 3 and data["inputs"] == {"frame": "frame.extxyz"}
