"""Model-deviation MD with LAMMPS and the DeePMD ensemble (pair_style deepmd m1 m2 ...).

Each exploration job runs one schedule entry (ensemble, temperature or ramp, pressure) for
one composition; the ensemble's force deviation is written every ``out_freq`` steps to
``model_devi.out`` and the frames at the same steps to ``traj.dump``.

MD that goes wrong (a LAMMPS error such as lost atoms, a killed process, non-finite
positions or deviations, a box that collapsed or exploded) is the normal case of a bad
model, not an error of the workflow: :func:`check_run` keeps the frames recorded before it,
counts the rest as failed and says what happened; the next iteration starts from
:func:`restart_frame`, the last frame the ensemble found accurate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms

from lpsflow.lammps import FS_TO_PS, header, run_lammps
from lpsflow.lammps_output import (
    complete_dump,
    complete_model_devi,
    lammps_error,
    read_model_devi,
    read_trajectory,
)
from lpsflow.seeds import derive

__all__ = ["lammps_input", "run_lammps", "run_md", "run_schedule"]
#: box volume relative to the start outside these bounds: the box collapsed or exploded
VOLUME_BOUNDS = (0.5, 2.0)


def schedule_jobs(schedule: list[dict]) -> list[dict]:
    """One job per schedule entry and pressure: {ensemble, t_start, t_end, pressure}."""
    jobs = []
    for entry in schedule:
        temps = entry["temperature"]
        t0, t1 = (temps, temps) if isinstance(temps, (int, float)) else (temps[0], temps[-1])
        pressures = entry.get("pressures", [None]) if entry["ensemble"] == "npt" else [None]
        for p in pressures:
            jobs.append({"ensemble": entry["ensemble"], "t_start": t0, "t_end": t1, "pressure": p})
    return jobs


def steps_for(iteration: int, steps: list[int]) -> int:
    """MD steps of ``iteration``: the list's entry, its last entry once past the end."""
    return int(steps[min(iteration, len(steps) - 1)])


def lammps_input(
    job: dict,
    models: list[str],
    type_map: list[str],
    steps: int,
    timestep_fs: float,
    out_freq: int,
    seed: int,
    relative_level: float | None = None,
) -> str:
    """LAMMPS input for one exploration job (metal units, data file ``conf.lmp``)."""
    dt = timestep_fs * FS_TO_PS
    t0, t1 = job["t_start"], job["t_end"]
    if job["ensemble"] == "npt":
        p = job["pressure"]
        fix = f"fix integ all npt temp {t0} {t1} {100 * dt} iso {p} {p} {1000 * dt}"
    else:
        fix = f"fix integ all nvt temp {t0} {t1} {100 * dt}"
    head = header(models, type_map, out_freq, timestep_fs, relative_level)
    return f"""# model-deviation exploration: {job}
{head}velocity        all create {t0} {seed} dist gaussian mom yes rot yes
thermo_style    custom step temp pe ke etotal press vol
thermo          {out_freq}
dump            traj all custom {out_freq} traj.dump id type x y z
dump_modify     traj sort id
{fix}
run             {steps}
"""


def run_md(
    atoms: Atoms,
    job: dict,
    models: list[str],
    type_map: list[str],
    workdir: Path,
    *,
    steps: int,
    timestep_fs: float,
    out_freq: int,
    seed: int,
    threads: int,
    command: str = "lmp",
    relative_level: float | None = None,
) -> int:
    """Run one exploration job in ``workdir`` (LAMMPS log in ``workdir/log.lammps``);
    returns LAMMPS' exit status (a failed run raises nothing: see :func:`check_run`)."""
    models = [str(Path(m).resolve()) for m in models]
    text = lammps_input(job, models, type_map, steps, timestep_fs, out_freq, seed, relative_level)
    return run_lammps(atoms, text, type_map, workdir, threads=threads, command=command, check=False)


def run_schedule(
    starts: list[Atoms],
    jobs: list[dict],
    models: list[str],
    type_map: list[str],
    workdirs: list[Path],
    *,
    seed: int,
    workers: int,
    **md,
) -> list[int]:
    """Run every schedule job j from ``starts[j]`` in ``workdirs[j]`` (the folder of its
    outputs), ``workers`` at a time; returns LAMMPS' exit status of each job.

    Each LAMMPS process uses one thread; one Snakemake job per composition and iteration
    keeps the DAG small (the cost of re-evaluating it grows with jobs x iterations).
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(j: int) -> int:
        return run_md(
            starts[j],
            jobs[j],
            models,
            type_map,
            Path(workdirs[j]),
            seed=derive(seed, job=j),
            threads=1,
            **md,
        )

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, range(len(jobs))))  # list() re-raises an exception


def frame_problem(atoms: Atoms, max_devi_f: float, start_volume: float) -> str:
    """Why an explored frame shows that the MD went wrong, or "" if it did not."""
    if not np.all(np.isfinite(atoms.positions)):
        return "non-finite positions"
    if not np.isfinite(max_devi_f):
        return "non-finite model deviation (NaN energies or forces)"
    ratio = atoms.get_volume() / start_volume
    if not VOLUME_BOUNDS[0] <= ratio <= VOLUME_BOUNDS[1]:
        return f"box volume {ratio:.2f} x the start (collapsed or exploded)"
    return ""


def check_run(
    workdir: Path, returncode: int, start: Atoms, type_map: list[str], expected: int
) -> dict:
    """Status of one exploration job; cuts ``model_devi.out`` and ``traj.dump`` after the
    last good frame.

    A frame is good if it was recorded completely, before any :func:`frame_problem`.
    ``expected`` is the number of records a complete run writes (steps / out_freq + 1);
    the missing ones are failed frames. Returns ``status`` ("ok" or "failed"), ``reason``,
    ``returncode``, ``records`` (good frames kept) and ``expected``.
    """
    devi_path, dump = workdir / "model_devi.out", workdir / "traj.dump"
    n = min(complete_model_devi(devi_path), complete_dump(dump))
    devi = read_model_devi(devi_path)
    frames = read_trajectory(dump, type_map) if n else []
    good, problem = n, ""
    for i in range(n):
        problem = frame_problem(frames[i], float(devi["max_devi_f"].iloc[i]), start.get_volume())
        if problem:
            good, problem = i, f"step {int(devi['step'].iloc[i])}: {problem}"
            break
    reasons = []
    if returncode != 0:
        reasons.append(lammps_error(workdir) or f"LAMMPS ended with exit code {returncode}")
    if problem:
        reasons.append(problem)
    if good < n or returncode != 0:
        complete_model_devi(devi_path, good)
        text = dump.read_text().split("ITEM: TIMESTEP\n")[1 : good + 1]
        dump.write_text("".join("ITEM: TIMESTEP\n" + b for b in text))
    if good < expected and not reasons:
        reasons.append(f"only {good} of {expected} records written")
    return {
        "status": "failed" if reasons else "ok",
        "reason": "; ".join(reasons),
        "returncode": returncode,
        "records": good,
        "expected": expected,
    }


def restart_frame(
    workdir: Path, start: Atoms, type_map: list[str], trust_lo: float
) -> tuple[Atoms, str]:
    """The last frame of a checked job the ensemble found accurate (deviation below
    ``trust_lo``), or ``start`` if there is none; with a note saying which.

    Not the last frame below ``trust_hi``: a candidate frame is often the start of a
    collapse (two S closing in), and the next iteration started there fails at once."""
    devi = read_model_devi(workdir / "model_devi.out")
    trusted = np.flatnonzero(devi["max_devi_f"].to_numpy(float) < trust_lo) if len(devi) else []
    if not len(trusted):
        return start.copy(), "start frame (no explored frame below trust_lo)"
    frames = read_trajectory(workdir / "traj.dump", type_map)
    i = int(trusted[-1])
    return frames[i], f"step {int(devi['step'].iloc[i])} (last frame below trust_lo)"
