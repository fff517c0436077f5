"""Cost of production MD per nanosecond: compressed DeePMD in LAMMPS at 1e3, 1e4 and 1e5 atoms.

Runs on whatever the machine has: CPU threads (``--threads``, default 1) or a GPU when
``nvidia-smi`` lists one (DeePMD-kit then runs on it if its build has CUDA; the record says
which device LAMMPS reported). For each size the 16-atom teacher cell (``bench/data``) is
repeated to about that many atoms and run with NVT at 600 K, 1 fs; atom-steps per second come
from the "Loop time" of the last ``run`` (the first ``run 1`` pays model loading and
TensorFlow's warm-up). Per size: atom-steps/s (per core on CPU), wall hours per ns and
core-hours (or GPU-hours) per ns. Runs are short: ``--atom-steps`` per size (default 5e5 on
a CPU, so 5 steps at 1e5 atoms; 3e7 on a GPU, a few hundred steps at 1e5 atoms); a size
whose memory would not fit (``--mb-per-atom`` x atoms > available memory) is skipped and
the record says so. The whole script stays under 10 minutes on one core.

The model: ``--model`` (a compressed graph), else a model of ``config/deepmd.json``'s
architecture trained ``--train-steps`` steps on the teacher frames at ``--precision`` and
compressed: the cost of a step does not depend on the weights.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from _common import REPO, Record, median, parser
from dp_vs_aimd import run_lammps
from precision import split_teacher_data, train_one

sys.path.insert(0, str(REPO / "src"))

from lpsflow.production import production_cell  # noqa: E402
from lpsflow.teacher import read_test_set  # noqa: E402

DATA = REPO / "bench" / "data"
SIZES = (1_000, 10_000, 100_000)
TIMESTEP_FS = 1.0  # the production default (config/config.yaml production.timestep_fs)


def gpu_device() -> str:
    """Name of the first GPU ``nvidia-smi -L`` lists, or "" when there is none."""
    if shutil.which("nvidia-smi") is None:
        return ""
    out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("GPU ")]
    return lines[0] if out.returncode == 0 and lines else ""


def lammps_device(workdir: Path) -> str:
    """What DeePMD-kit said about its device in a LAMMPS run (stdout/log), or ""."""
    text = ""
    for name in ("log.lammps",):
        path = workdir / name
        if path.exists():
            text += path.read_text(errors="replace")
    for line in text.splitlines():
        if "DeePMD-kit" in line and ("GPU" in line or "CPU" in line or "CUDA" in line):
            return line.strip()
    return ""


def available_mb() -> float:
    """MemAvailable of /proc/meminfo in MB (inf where it cannot be read)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("inf")


def cost_per_ns(atom_steps_per_s: float, atoms: int, cores: int, timestep_fs: float) -> dict:
    """Wall hours and core-hours of 1 ns of MD of ``atoms`` atoms at ``timestep_fs`` fs,
    at ``atom_steps_per_s`` for the whole job running on ``cores`` cores (or GPUs)."""
    steps = 1e6 / timestep_fs
    wall_h = atoms * steps / atom_steps_per_s / 3600.0
    return {"wall_h_per_ns": wall_h, "core_h_per_ns": wall_h * cores}


def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    p.add_argument("--threads", type=int, default=1, help="CPU threads of LAMMPS + DeePMD")
    p.add_argument("--atom-steps", type=float, help="per size (default 5e5 CPU, 3e7 GPU)")
    p.add_argument("--model", type=Path, help="a compressed DeePMD graph (else one is trained)")
    p.add_argument("--precision", default="float32", choices=["float32", "float64"])
    p.add_argument("--train-steps", type=int, default=20)
    p.add_argument("--template", type=Path, default=REPO / "config" / "deepmd.json")
    p.add_argument("--mb-per-atom", type=float, default=0.12, help="memory guard, MB per atom")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/lpsflow-bench/production_cost"))
    args = p.parse_args(argv)
    gpu = gpu_device()
    if args.atom_steps is None:
        args.atom_steps = 3e7 if gpu else 5e5
    if args.smoke:
        args.sizes, args.atom_steps, args.train_steps = [64], 640, 1
        args.template = REPO / "config" / "deepmd-demo.json"
        args.workdir = args.workdir.with_name(args.workdir.name + "_smoke")
    rec = Record(
        "production_cost",
        {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "out"},
        smoke=args.smoke,
    )
    device = gpu or f"CPU, {args.threads} thread{'s' if args.threads > 1 else ''}"
    rec.data["device"] = device
    rec.data["inputs"]["cuda_visible_devices"] = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    if not gpu:
        rec.note("no GPU found (nvidia-smi): CPU figures only; GPU figures not measured")
    args.workdir.mkdir(parents=True, exist_ok=True)
    files = sorted(DATA.glob("teacher_LPS75_16atoms_T*.extxyz"))
    if args.model:
        model = args.model
    else:
        systems, _ = split_teacher_data(files, 14, args.workdir)
        template = json.loads(args.template.read_text())
        model = train_one(
            template, args.precision, 1, args.train_steps, systems, args.workdir / "model"
        )["compressed"]
        rec.note(
            f"model: {args.template.name} architecture, {args.precision}, trained "
            f"{args.train_steps} steps (timing only)"
        )
    base = read_test_set(files[0]).to("ase/structure")[0]
    cores = 1 if gpu else args.threads
    table = {}
    for n in args.sizes:
        cell = production_cell(base, n) if n > len(base) else base
        need = args.mb_per_atom * len(cell) + 1000
        if need > available_mb():
            rec.note(f"{len(cell)} atoms skipped: needs ~{need:.0f} MB, {available_mb():.0f} free")
            continue
        steps = max(3, int(args.atom_steps / len(cell)))
        w = args.workdir / f"n{n}"
        run = run_lammps(cell, model, steps, args.threads, w)
        speed = len(cell) / run["s_per_step"]
        cost = cost_per_ns(speed, len(cell), cores, TIMESTEP_FS)
        table[len(cell)] = {**run, "steps": steps, "atom_steps_per_s": speed, **cost}
        table[len(cell)]["lammps_device"] = lammps_device(w)
        per = "core" if not gpu else "GPU"
        rec.figure(f"atom-steps/s ({len(cell)} atoms, {device})", speed, "1/s")
        rec.figure(
            f"atom-steps/s per {per} ({len(cell)} atoms)",
            speed / cores,
            "1/s",
            ">= 1e4" if not gpu else "",
        )
        if run["cpu_s_per_step"] == run["cpu_s_per_step"]:  # not NaN
            rec.figure(
                f"atom-steps per CPU second ({len(cell)} atoms)",
                len(cell) / run["cpu_s_per_step"],
                "1/s",
            )
        rec.figure(f"wall h per ns ({len(cell)} atoms)", cost["wall_h_per_ns"], "h")
        rec.figure(f"{per}-h per ns ({len(cell)} atoms)", cost["core_h_per_ns"], "h")
        rec.figure(f"peak memory ({len(cell)} atoms)", run["max_rss_mib"], "MiB")
        rec.write(args.out)  # partial record: what was measured so far
    rec.data["details"] = {"timestep_fs": TIMESTEP_FS, "runs": table, "model": str(model)}
    if table:
        rec.data["details"]["median_atom_steps_per_s"] = median(
            [r["atom_steps_per_s"] for r in table.values()]
        )
    rec.write(args.out)


if __name__ == "__main__":
    main()
