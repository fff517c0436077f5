"""A fixed test set for bench/cl_vs_random.py: the teacher's own MD of one cell at given
temperatures, through the workflow's ``lpsflow.teacher.run_teacher_md`` (NPT to the
teacher's own density, then NVT, as the workflow's teacher_md rule).

``python bench/_teacher_test_set.py START.extxyz OUT_PREFIX --temperatures 600 800`` writes
``OUT_PREFIX_T600.extxyz`` and ``OUT_PREFIX_T800.extxyz``: ``--frames`` whole-cell frames,
evenly spaced over the recorded NVT run, each with the teacher's energy, forces and stress.
The start is the first frame of START (for example an existing test set's), so new sets
share its cell and composition.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ase.io import read  # noqa: E402

from lpsflow.dft.mlip import MODELS, load_calculator  # noqa: E402
from lpsflow.teacher import run_teacher_md  # noqa: E402


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("start", type=Path)
    p.add_argument("prefix", help="output files are PREFIX_T<temperature>.extxyz")
    p.add_argument("--temperatures", type=float, nargs="+", required=True)
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--npt-steps", type=int, default=2000)
    p.add_argument("--equilibration-steps", type=int, default=500)
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--dump-every", type=int, default=20, help="steps between recorded frames")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    glass = read(args.start, 0)
    calc = load_calculator(next(iter(MODELS)), threads=args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        for temperature in args.temperatures:
            out = Path(f"{args.prefix}_T{temperature:g}.extxyz")
            speed = run_teacher_md(
                glass.copy(),
                calc,
                temperature,
                timestep_fs=1.0,
                equilibration_steps=args.equilibration_steps,
                steps=args.steps,
                dump_every=args.dump_every,
                seed=args.seed + int(temperature),
                dump_path=Path(tmp) / "li.dump",
                type_map=["Li", "P", "S"],
                test_path=out,
                test_frames=args.frames,
                npt_steps=args.npt_steps,
            )
            print(out, speed, flush=True)


if __name__ == "__main__":
    main()
