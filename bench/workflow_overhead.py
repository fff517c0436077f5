"""Workflow overhead: `snakemake -n` time on finished campaigns of 1, 10 and 30 iterations
(10 compositions x 8 temperatures, the worst case: every selection checkpoint is walked and
the DAG re-evaluated), and the number of labelling jobs that 1,000 frames become (one job per
frame) and the Slurm submissions they make with the shipped profile.

The finished campaigns are laid out with the code of tests/test_dag_speed.py (placeholder
files in dependency order). Dry runs of the sizes alternate (A B C A B C ...).
"""

from __future__ import annotations

import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _common import REPO, Record, alternate, median, parser

sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "src"))

from conftest import run_workflow  # noqa: E402
from test_dag_speed import _campaign_config, _campaign_files  # noqa: E402


def job_counts(dry_run_output: str) -> dict[str, int]:
    """Rule -> job count from the "Job stats" table of a Snakemake (dry) run."""
    counts = {}
    table = dry_run_output.split("Job stats:", 1)[-1]
    for line in table.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)\s*$", line.strip())
        if m and m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def dry_run_s(root: Path, cpu: list[float]) -> float:
    """Wall seconds of `snakemake -n` in ``root``; its CPU seconds are appended to ``cpu``
    (less sensitive than wall time to the other users of a shared machine)."""
    cpu0, start = children_cpu_s(), time.perf_counter()
    proc = run_workflow(root, None, "-n", "--rerun-triggers", "mtime")
    elapsed = time.perf_counter() - start
    cpu.append(children_cpu_s() - cpu0)
    if "Nothing to be done" not in proc.stdout + proc.stderr:
        raise RuntimeError(f"dry run in {root} has work left:\n{proc.stdout[-2000:]}")
    return elapsed


#: what workflow/rules/common.smk imports from lpsflow when snakemake starts
DAG_IMPORTS = "import lpsflow.config, lpsflow.exploration"


def import_s(src: Path, cpu: list[float]) -> float:
    """Wall seconds of a fresh Python importing the modules common.smk needs from ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    cpu0, start = children_cpu_s(), time.perf_counter()
    subprocess.run([sys.executable, "-c", DAG_IMPORTS], env=env, check=True)
    elapsed = time.perf_counter() - start
    cpu.append(children_cpu_s() - cpu0)
    return elapsed


def label_jobs(root: Path, n_frames: int) -> tuple[int, int]:
    """Labelling jobs in the dry run of a fresh campaign with ``n_frames`` initial frames
    (one composition, one replica; one job per frame), and the frames per Slurm submission
    of the profile's label group (``group-components`` in slurm/config.yaml, commented out
    by default: then every job is a submission, returned as 1)."""
    config = _campaign_config(n_comp=1, n_temp=1, n_iter=1)
    config["init"]["n_perturb"] = n_frames
    proc = run_workflow(root, config, "-n")
    profile = yaml.safe_load((REPO / "slurm" / "config.yaml").read_text()) or {}
    groups = {}
    for item in profile.get("group-components", []):
        name, _, n = str(item).partition("=")
        groups[name] = int(n)
    return job_counts(proc.stdout + proc.stderr).get("label_frame", 0), groups.get("label", 1)


def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, nargs="+", default=[1, 10, 30])
    p.add_argument("--compositions", type=int, default=10)
    p.add_argument("--temperatures", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--frames", type=int, default=1000, help="frames to label (job count)")
    p.add_argument(
        "--compare-src",
        type=Path,
        help="another src/ tree (e.g. before a change): import times of both, alternating",
    )
    p.add_argument("--import-repeats", type=int, default=7)
    args = p.parse_args(argv)
    if args.smoke:
        args.iterations, args.compositions, args.temperatures = [1], 2, 2
        args.repeats, args.frames, args.import_repeats = 1, 40, 1
    rec = Record(
        "workflow_overhead", {k: v for k, v in vars(args).items() if k != "out"}, smoke=args.smoke
    )
    with tempfile.TemporaryDirectory(prefix="bench_overhead_") as tmp:
        roots = {}
        for n in args.iterations:
            root = Path(tmp) / f"iter_{n}"
            root.mkdir()
            (root / "config").mkdir()
            config = _campaign_config(args.compositions, args.temperatures, n)
            (root / "config" / "config.yaml").write_text(yaml.safe_dump(config))
            _campaign_files(root, args.compositions, args.temperatures, n)
            roots[n] = root
        cpu: dict[str, list[float]] = {str(n): [] for n in roots}
        values = alternate(
            {str(n): (lambda r=roots[n], c=cpu[str(n)]: dry_run_s(r, c)) for n in roots},
            args.repeats,
        )
        for n in args.iterations:
            target = "< 10" if n == max(args.iterations) else ""
            rec.figure(
                f"snakemake -n, {args.compositions}x{args.temperatures}, {n} iterations",
                median(values[str(n)]),
                "s",
                target,
            )
            rec.figure(
                f"snakemake -n CPU, {args.compositions}x{args.temperatures}, {n} iterations",
                median(cpu[str(n)]),
                "s",
            )
        rec.data["details"] = {"dry_run_s": values, "dry_run_cpu_s": cpu}
        fresh = Path(tmp) / "fresh"
        fresh.mkdir()
        jobs, per_job = label_jobs(fresh, args.frames)
        rec.figure(f"labelling jobs for {args.frames} frames", jobs, "jobs")
        rec.figure(
            f"Slurm submissions for {args.frames} frames (profile as shipped)",
            math.ceil(jobs / per_job),
            "jobs",
        )
        rec.data["details"]["frames_per_submission"] = per_job
        if jobs != args.frames:
            rec.note(f"{jobs} label jobs for {args.frames} frames (one per frame expected)")
        srcs = {"src": REPO / "src"}
        if args.compare_src:
            srcs["compare_src"] = args.compare_src
        icpu: dict[str, list[float]] = {k: [] for k in srcs}
        ivalues = alternate(
            {k: (lambda s=s, c=icpu[k]: import_s(s, c)) for k, s in srcs.items()},
            args.import_repeats,
        )
        for k in srcs:
            rec.figure(f"{DAG_IMPORTS} ({k}) wall", median(ivalues[k]), "s")
            rec.figure(f"{DAG_IMPORTS} ({k}) CPU", median(icpu[k]), "s")
        rec.data["details"]["import_s"] = ivalues
        rec.data["details"]["import_cpu_s"] = icpu
    rec.write(args.out)


if __name__ == "__main__":
    main()
