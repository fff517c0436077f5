"""Benchmarks of lpsflow.transport on synthetic trajectories in the production format.

Self-contained (numpy, MDAnalysis, lpsflow); not a test. Two measurements:

``size``: time and peak memory of one transport analysis (``lpsflow.transport.analyze_run``,
the function the ``analyze_transport`` rule calls) at production size. Synthetic random walks
are written as LAMMPS-style DCD files with MDAnalysis' DCDWriter (float32, the format
``dump dcd`` + ``dump_modify unwrap yes`` writes): ``li.dcd`` with 500 Li every frame and
``all.dcd`` with 1100 atoms (500 Li, 100 P, 500 S: neutral) every 10th frame. Each analysis runs
in a child process whose wall time and peak resident memory (``os.wait4`` rusage) are printed.

    PYTHONPATH=src .venv/bin/python bench/transport_analysis.py size --frames 10000 100000
    (or: python -m bench transport_analysis)

Measured 2026-11-25 on the shared 2-core machine (load average about 20, so wall times are
inflated about tenfold; CPU time is what one free core would take):

    10000 frames x 500 Li:  2.7 s CPU (28.9 s wall),  peak RSS 172 MB
    100000 frames x 500 Li: 22.3 s CPU (236 s wall), peak RSS 855 MB
    (issue 10 reported 300 s and 2.9 GB for 1e5 x 500 with the text dump; not re-measured)

``window``: RMS relative error of D from windows of the longest lag on independent random
walks of production size (500 Li, 1e4 frames, known D), to choose ``FIT_WINDOW``.

    PYTHONPATH=src .venv/bin/python bench/transport_analysis.py window --realisations 100

Measured 2026-11-25 (D = 0.05 A^2/ps, dt = 0.1 ps):

    window (0.02, 0.1): RMS error 1.2 %, bias +0.2 %
    window (0.05, 0.2): RMS error 1.9 %, bias +0.1 %   <- FIT_WINDOW
    window (0.1, 0.5):  RMS error 3.5 %, bias +0.3 %   (former default)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_LI, N_P, N_S = 500, 100, 500
D_A2_PS = 0.05  # A^2/ps (5e-6 cm^2/s), a fast Li conductor
DT_PS = 0.1
ALL_EVERY = 10


def write_dcd(path: Path, n_frames: int, n_atoms: int, seed: int, every: int = 1) -> None:
    """Random walks (D = D_A2_PS) of ``n_atoms`` written every ``every`` frames as DCD."""
    import MDAnalysis as mda
    from MDAnalysis.coordinates.DCD import DCDWriter

    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 25, size=(n_atoms, 3))
    scale = np.sqrt(2 * D_A2_PS * DT_PS)
    u = mda.Universe.empty(n_atoms, trajectory=True)
    u.dimensions = [25.0, 25.0, 25.0, 90.0, 90.0, 90.0]
    with DCDWriter(str(path), n_atoms, dt=DT_PS * every) as w:
        for f in range(n_frames):
            if f % every == 0:
                u.atoms.positions = pos
                w.write(u.atoms)
            pos += rng.normal(0.0, scale, size=pos.shape)


def child(li: str, all_path: str) -> None:
    from lpsflow.transport import analyze_run

    symbols = ["Li"] * N_LI + ["P"] * N_P + ["S"] * N_S
    summary, _ = analyze_run(
        li, symbols, 25.0**3, 600.0, DT_PS, all_path=all_path, all_timestep_ps=DT_PS * ALL_EVERY
    )
    print(json.dumps({k: summary[k] for k in ("D_cm2_s", "D_err_cm2_s", "beta", "haven_ratio")}))


def size(frames: list[int], workdir: Path, rec=None) -> None:
    """Time and peak memory of the analysis of each size (figures into ``rec``)."""
    for n in frames:
        li, all_path = workdir / f"li_{n}.dcd", workdir / f"all_{n}.dcd"
        start = time.perf_counter()
        write_dcd(li, n, N_LI, seed=1)
        write_dcd(all_path, n, N_LI + N_P + N_S, seed=2, every=ALL_EVERY)
        print(f"wrote {n} frames in {time.perf_counter() - start:.1f} s", flush=True)
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, __file__, "child", str(li), str(all_path)],
            env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        print(
            f"{n} frames x {N_LI} Li (+ all.dcd {n // ALL_EVERY} frames x {N_LI + N_P + N_S}"
            f" atoms): {wall:.1f} s wall, {usage.ru_utime + usage.ru_stime:.1f} s CPU, "
            f"peak RSS {usage.ru_maxrss / 1024:.0f} MB, exit {os.waitstatus_to_exitcode(status)}",
            flush=True,
        )
        if rec is not None:
            label = f"{n} frames x {N_LI} Li, tracer + collective"
            rec.figure(f"analysis wall, {label}", round(wall, 2), "s", "< 60" if n >= 1e5 else "")
            cpu = usage.ru_utime + usage.ru_stime
            rec.figure(f"analysis CPU, {label}", round(cpu, 2), "s")
            peak = usage.ru_maxrss / 1024
            rec.figure(f"peak memory, {label}", round(peak), "MB", "< 1000" if n >= 1e5 else "")
            if os.waitstatus_to_exitcode(status) != 0:
                rec.note(f"the analysis of {n} frames exited with {status}")
        li.unlink()
        all_path.unlink()


def window(realisations: int, n_frames: int, windows: list[tuple[float, float]], rec=None) -> None:
    from lpsflow.transport import msd_chunks

    lags = np.arange(n_frames) * DT_PS
    errors = {w: [] for w in windows}
    rng = np.random.default_rng(0)
    for _ in range(realisations):
        steps = rng.normal(0, np.sqrt(2 * D_A2_PS * DT_PS), size=(n_frames, N_LI, 3))
        steps[0] = 0
        pos = np.cumsum(steps, axis=0)
        mean = sum(c.sum(axis=1) for c in msd_chunks(pos)) / N_LI
        for w in windows:
            sel = (lags >= w[0] * lags[-1]) & (lags <= w[1] * lags[-1])
            d = np.polyfit(lags[sel], mean[sel], 1)[0] / 6
            errors[w].append(d / D_A2_PS - 1)
    for w in windows:
        e = np.asarray(errors[w])
        if rec is not None:
            rec.figure(f"RMS error of D, window {w}", round(100 * np.sqrt(np.mean(e**2)), 2), "%")
        print(
            f"window {w}: RMS error {100 * np.sqrt(np.mean(e**2)):.1f} %, "
            f"bias {100 * e.mean():+.1f} % ({realisations} walks of {N_LI} x {n_frames})"
        )


def main(argv=None) -> None:
    """``size`` (the default; the runner's benchmark), ``window``, or ``child`` (internal)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import Record, parser

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["child"]:
        child(argv[1], argv[2])
        return
    ap = parser(__doc__.splitlines()[0])
    ap.add_argument("mode", nargs="?", choices=["size", "window"], default="size")
    ap.add_argument("--frames", type=int, nargs="+", default=None)
    ap.add_argument("--realisations", type=int, default=100)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.smoke:
        args.frames, args.realisations = [200], 2
    rec = Record(
        "transport_analysis" if args.mode == "size" else "transport_fit_window",
        {k: v for k, v in vars(args).items() if k not in ("out", "workdir")},
        smoke=args.smoke,
    )
    if args.mode == "size":
        frames = args.frames or [10_000, 100_000]
        if args.workdir:
            size(frames, args.workdir, rec)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                size(frames, Path(tmp), rec)
    else:
        n = (args.frames or [10_000])[0]
        window(args.realisations, n, [(0.02, 0.1), (0.05, 0.2), (0.1, 0.5)], rec)
    rec.write(args.out)


if __name__ == "__main__":
    main()
