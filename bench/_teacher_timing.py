"""Time the teacher potential's MD on one cell, in its own process (used by dp_vs_aimd.py).

``python bench/_teacher_timing.py CELL.extxyz STEPS THREADS`` runs the workflow's own teacher MD
(``lpsflow.teacher.run_teacher_md``: ASE, Nose-Hoover chain NVT at 600 K, 1 fs, the shipped
teacher model) for a few warm-up steps and then ``STEPS`` timed steps, and prints one JSON
line: wall and CPU seconds per timed step (model loading and warm-up excluded, as LAMMPS'
"Loop time" excludes set-up). Run it under ``/usr/bin/time -v`` for the peak memory.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ase.io import read  # noqa: E402

from lpsflow.dft.mlip import MODELS, load_calculator  # noqa: E402
from lpsflow.teacher import run_teacher_md  # noqa: E402

MODEL = next(iter(MODELS))  # the teacher the workflow ships (chgnet-0.3.0)
WARMUP = 3


def time_teacher(atoms, steps: int, threads: int, workdir: Path) -> dict:
    """Wall and CPU seconds per MD step of the teacher on ``atoms`` (after ``WARMUP`` steps)."""
    calc = load_calculator(MODEL, threads=threads)

    def run(n: int, name: str) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()  # process_time: all threads
        run_teacher_md(
            atoms,
            calc,
            600.0,
            timestep_fs=1.0,
            equilibration_steps=0,
            steps=n,
            dump_every=n,
            seed=0,
            dump_path=workdir / f"{name}.dump",
            type_map=["Li", "P", "S"],
        )
        return time.perf_counter() - wall, time.process_time() - cpu

    run(WARMUP, "warmup")
    wall, cpu = run(steps, "timed")
    return {
        "model": MODEL,
        "atoms": len(atoms),
        "steps": steps,
        "threads": threads,
        "s_per_step": wall / steps,
        "cpu_s_per_step": cpu / steps,
    }


if __name__ == "__main__":
    cell, steps, threads = read(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(time_teacher(cell, steps, threads, Path(tmp))))
