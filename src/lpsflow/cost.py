"""What a production MD run cost, from its own LAMMPS logs and Snakemake benchmark file.

Units: seconds (wall), atom-steps per second, core-hours (wall hours x cores of the job),
nanoseconds simulated (steps x time step).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

#: LAMMPS' summary line of every ``run`` command
LOOP_TIME = re.compile(r"Loop time of ([0-9.eE+-]+) on \d+ procs for (\d+) steps with (\d+) atoms")


def lammps_loops(text: str) -> dict:
    """Wall seconds, steps and atom-steps summed over the "Loop time" lines of a LAMMPS log."""
    wall = atom_steps = 0.0
    steps = atoms = 0
    for seconds, n_steps, n_atoms in LOOP_TIME.findall(text):
        wall += float(seconds)
        steps += int(n_steps)
        atom_steps += int(n_steps) * int(n_atoms)
        atoms = int(n_atoms)
    return {"md_wall_s": wall, "md_steps": steps, "atom_steps": atom_steps, "atoms": atoms}


def run_cost(
    run_dir: str | Path,
    cores: int,
    timestep_fs: float,
    benchmark: str | Path | None = None,
    job_wall_s: float | None = None,
) -> dict:
    """Cost of one production run from every ``log.lammps`` under ``run_dir`` (the run and
    its extensions) and the job's wall seconds: ``job_wall_s`` as the job measured it
    itself, or, when given and present, its Snakemake benchmark TSV (column ``s``, start-up
    included).

    Returns atoms, md_steps, simulated_ns, md_wall_s, atom_steps_per_s (whole job),
    atom_steps_per_s_per_core, job_wall_s, core_hours (job wall x ``cores``) and
    core_hours_per_ns; NaN where nothing was logged.
    """
    total = {"md_wall_s": 0.0, "md_steps": 0, "atom_steps": 0.0, "atoms": 0}
    for log in sorted(Path(run_dir).rglob("log.lammps")):
        part = lammps_loops(log.read_text(errors="replace"))
        for key in ("md_wall_s", "md_steps", "atom_steps"):
            total[key] += part[key]
        total["atoms"] = part["atoms"] or total["atoms"]
    job_wall = float("nan") if job_wall_s is None else float(job_wall_s)
    if job_wall_s is None and benchmark is not None and Path(benchmark).exists():
        table = pd.read_csv(benchmark, sep="\t")
        if len(table) and "s" in table:
            job_wall = float(table["s"].iloc[-1])
    wall = job_wall if math.isfinite(job_wall) else total["md_wall_s"]
    speed = total["atom_steps"] / total["md_wall_s"] if total["md_wall_s"] > 0 else float("nan")
    ns = total["md_steps"] * timestep_fs * 1e-6
    core_hours = wall * cores / 3600.0 if wall > 0 else float("nan")
    return {
        "atoms": total["atoms"],
        "md_steps": total["md_steps"],
        "simulated_ns": ns,
        "md_wall_s": total["md_wall_s"],
        "atom_steps_per_s": speed,
        "atom_steps_per_s_per_core": speed / max(cores, 1),
        "job_wall_s": job_wall,
        "core_hours": core_hours,
        "core_hours_per_ns": core_hours / ns if ns > 0 else float("nan"),
    }
