"""CP2K crystal density: a shipped crystal relaxed (cell and positions) by CP2K with the
workflow's DFT settings, its density and lattice parameters against the measured ones.

The input is the workflow's labelling input (``lpsflow.dft.cp2k.input_text`` with the ``dft``
section of ``config/config.yaml``, preset production: PBE + D3, DZVP-MOLOPT-SR-GTH, GTH-PBE,
400/50 Ry, Fermi-Dirac 300 K) turned into a CELL_OPT at 1 bar: BFGS on cell and positions,
the angles kept for an orthogonal cell, CP2K's default convergence criteria plus a pressure
tolerance (``--pressure-tolerance-bar``). The measured density is the first row of the
crystal in ``src/lpsflow/data/measured_density.csv``.

Brillouin-zone sampling: the workflow labels cells of 80-200 atoms at the Gamma point; the
unit cell of beta-Li3PS4 (32 atoms, 12.8 x 8.2 x 6.1 A) at the Gamma point alone samples the
zone far worse, so the default adds a Monkhorst-Pack grid (``--kpoints 1 2 2``, the sampling
of a 1 x 2 x 2 supercell of 12.8 x 16.4 x 12.2 A) and ``--kpoints 1 1 1`` gives the Gamma-only
number beside it. The relaxation is at 0 K: no thermal expansion and no zero-point motion,
while the measured density is at room temperature (an NPT density at 300 K, as the teacher
card's, includes the first).

    python bench/cp2k_crystal_density.py                    # beta-Li3PS4, k-points 1 2 2
    python bench/cp2k_crystal_density.py --kpoints 1 1 1 --name cp2k_crystal_density_gamma
    python bench/cp2k_crystal_density.py --smoke            # Li2S, cheap preset, 2 steps
    python bench/cp2k_crystal_density.py --run-dir DIR      # the record of a run made (or stopped)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
from _common import (
    REPO,
    Record,
    cp2k_version,
    cpu_s,
    dft_settings,
    max_rss_mib,
    parser,
    run_cp2k,
    wall_s,
)

sys.path.insert(0, str(REPO / "src"))

from ase import Atoms  # noqa: E402
from ase.io import read, write  # noqa: E402
from teacher_card import experimental_lengths, measured_density  # noqa: E402

from lpsflow.crystals import cell_density, path  # noqa: E402
from lpsflow.dft.cp2k import input_text  # noqa: E402
from lpsflow.dft.cp2k_md import PROJECT  # noqa: E402


def cell_opt_input(
    atoms: Atoms,
    dft: dict,
    max_iter: int,
    kpoints: tuple[int, int, int],
    pressure_tolerance_bar: float,
) -> str:
    """The workflow's labelling input for ``atoms`` turned into a CELL_OPT at 1 bar."""
    text = input_text(atoms, dft)
    if "RUN_TYPE ENERGY_FORCE" not in text or "  &END DFT\n" not in text:
        raise ValueError("CP2K input template changed: RUN_TYPE or &END DFT not found")
    text = text.replace("RUN_TYPE ENERGY_FORCE", "RUN_TYPE CELL_OPT")
    if any(k > 1 for k in kpoints):
        grid = " ".join(str(k) for k in kpoints)
        text = text.replace(
            "  &END DFT\n",
            f"    &KPOINTS\n      SCHEME MONKHORST-PACK {grid}\n    &END KPOINTS\n  &END DFT\n",
        )
    orthogonal = np.allclose(atoms.cell.angles(), 90.0, atol=1e-6)
    motion = f"""&MOTION
  &CELL_OPT
    TYPE DIRECT_CELL_OPT
    OPTIMIZER BFGS
    MAX_ITER {max_iter}
    EXTERNAL_PRESSURE [bar] 1.0
    PRESSURE_TOLERANCE [bar] {pressure_tolerance_bar}
    KEEP_ANGLES {"TRUE" if orthogonal else "FALSE"}
  &END CELL_OPT
  &PRINT
    &CELL
    &END CELL
    &TRAJECTORY
    &END TRAJECTORY
    &RESTART OFF
    &END RESTART
    &RESTART_HISTORY OFF
    &END RESTART_HISTORY
  &END PRINT
&END MOTION
"""
    return text + motion


def read_cells(cell_file: Path) -> np.ndarray:
    """Cells of a CP2K ``*-1.cell`` file: one row per printed step, (n, 3, 3) in angstrom."""
    rows = [
        [float(v) for v in line.split()[2:11]]
        for line in cell_file.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return np.array(rows).reshape(-1, 3, 3)


def optimisation_steps(output: str) -> list[dict]:
    """Per optimisation step of a CP2K CELL_OPT output (step 0 is the starting structure):
    total energy (Hartree) and internal pressure (bar), from the "Informations at step"
    blocks."""
    steps = []
    for block in re.split(r"Informations at step =", output)[1:]:
        energy = re.search(r"Total Energy\s+=\s+(-?[0-9.]+)", block)
        pressure = re.search(r"Internal Pressure \[bar\]\s+=\s+(-?[0-9.]+)", block)
        steps.append(
            {
                "energy_hartree": float(energy.group(1)) if energy else None,
                "pressure_bar": float(pressure.group(1)) if pressure else None,
            }
        )
    return steps


def relax(atoms: Atoms, dft: dict, args, workdir: Path) -> tuple[Atoms, dict]:
    """Run the CELL_OPT in ``workdir``; the last printed structure and what the run did."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "cell_opt.inp").write_text(
        cell_opt_input(atoms, dft, args.max_iter, tuple(args.kpoints), args.pressure_tolerance_bar)
    )
    proc = run_cp2k(dft, "cell_opt", args.threads, workdir)
    output = (workdir / "cell_opt.out").read_text(errors="replace")
    if proc.returncode != 0 or "PROGRAM ENDED AT" not in output:
        raise SystemExit(f"CP2K CELL_OPT failed in {workdir}:\n{proc.stderr[-3000:]}")
    final, run = read_run(workdir)
    run.update(wall_s=wall_s(proc.stderr), cpu_s=cpu_s(proc.stderr))
    run["max_rss_mib"] = max_rss_mib(proc.stderr)
    for scratch in workdir.glob("*.wfn*"):
        scratch.unlink()
    return final, run


def read_run(workdir: Path) -> tuple[Atoms, dict]:
    """The last structure of a CELL_OPT in ``workdir`` (finished or stopped: the last step
    CP2K printed in full) and its history; the wall time from the files' modification times
    (``time -v``'s figures replace it when :func:`relax` ran CP2K)."""
    output = (workdir / "cell_opt.out").read_text(errors="replace")
    cells = read_cells(workdir / f"{PROJECT}-1.cell")
    frames = read(workdir / f"{PROJECT}-pos-1.xyz", index=":", format="xyz")
    n = min(len(cells), len(frames))  # a stopped run may have printed one and not the other
    if n == 0:
        raise SystemExit(f"no optimisation step finished in {workdir}")
    final = frames[n - 1]
    final.cell, final.pbc = cells[n - 1], True
    steps = optimisation_steps(output)
    mtime = {f: (workdir / f).stat().st_mtime for f in ("cell_opt.inp", "cell_opt.out")}
    run = {
        "finished": "PROGRAM ENDED AT" in output,
        "converged": "GEOMETRY OPTIMIZATION COMPLETED" in output,
        "steps": n,  # BFGS steps whose cell and positions were printed (step 0 is the start)
        "energy_hartree": [s["energy_hartree"] for s in steps],
        "pressure_bar": [s["pressure_bar"] for s in steps],
        "volume_a3": [float(abs(np.linalg.det(c))) for c in cells[:n]],
        "scf_not_converged": output.count("SCF run NOT converged"),
        "wall_s": mtime["cell_opt.out"] - mtime["cell_opt.inp"],
        "cpu_s": None,
        "max_rss_mib": None,
    }
    return final, run


def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--crystal", default="beta-Li3PS4", help="shipped phase (lpsflow.crystals)")
    p.add_argument("--repeat", type=int, nargs=3, default=[1, 1, 1], help="supercell")
    p.add_argument("--kpoints", type=int, nargs=3, default=[1, 2, 2], help="Monkhorst-Pack")
    p.add_argument("--preset", default="production", help="dft.preset of config/config.yaml")
    p.add_argument("--max-iter", type=int, default=60, help="CELL_OPT steps at most")
    p.add_argument("--pressure-tolerance-bar", type=float, default=100.0)
    p.add_argument("--threads", type=int, default=2, help="OpenMP threads of CP2K")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/lpsflow-bench/cp2k_density"))
    p.add_argument(
        "--run-dir", type=Path, help="read this CELL_OPT folder (finished or stopped); no run"
    )
    args = p.parse_args(argv)
    if args.smoke:
        args.crystal, args.preset, args.max_iter = "Li2S", "cheap", 2
        args.kpoints, args.threads = [2, 2, 2], 1
    dft = dft_settings(args.preset)
    record = Record(
        "cp2k_crystal_density",
        {
            "name": args.name,
            "crystal": args.crystal,
            "repeat": args.repeat,
            "kpoints": args.kpoints,
            "dft": {k: dft[k] for k in ("functional", "dispersion", "basis", "cutoff")}
            | {"rel_cutoff": dft["rel_cutoff"], "preset": args.preset},
            "max_iter": args.max_iter,
            "pressure_tolerance_bar": args.pressure_tolerance_bar,
            "threads": args.threads,
        },
        smoke=args.smoke,
    )
    start = read(path(args.crystal)).repeat(args.repeat)
    if args.run_dir:
        args.workdir = args.run_dir
        final, run = read_run(args.run_dir)
        if not run["finished"]:
            record.note("CP2K was stopped before the end: the last printed step is reported")
    else:
        final, run = relax(start, dft, args, args.workdir)
    write(args.workdir / "relaxed.extxyz", final)
    cp2k_input = (args.workdir / "cell_opt.inp").read_text()
    grid = re.search(r"SCHEME MONKHORST-PACK (\d+) (\d+) (\d+)", cp2k_input)
    record.data["inputs"]["kpoints"] = [int(k) for k in grid.groups()] if grid else [1, 1, 1]
    record.data["cp2k_input"] = cp2k_input  # what ran (with --run-dir: not the options)
    rho_exp, source = measured_density(args.crystal)
    rho = cell_density(final)
    record.figure("atoms", len(final))
    record.figure("start density (shipped cell)", cell_density(start), "g/cm3")
    record.figure("relaxed density", rho, "g/cm3", f"{rho_exp} measured")
    record.figure("density error", 100 * (rho / rho_exp - 1), "%")
    lengths = np.array(final.cell.cellpar()[:3]) / np.array(args.repeat)
    if args.crystal != "Li2S":
        exp, same_setting = experimental_lengths(args.crystal)
        if not same_setting:
            lengths, exp = np.sort(lengths), np.sort(exp)
        for name, got, want in zip("abc", lengths, exp, strict=True):
            record.figure(f"{name} error", 100 * (got / want - 1), "%", f"{want} A measured")
    record.figure("cell_opt steps", run["steps"])
    record.figure("converged", run["converged"])
    record.figure("finished", run["finished"])
    record.figure("final pressure", run["pressure_bar"][-1] if run["pressure_bar"] else None, "bar")
    record.figure("wall", run["wall_s"], "s")
    record.figure("CPU", run["cpu_s"], "s")
    if run["scf_not_converged"]:
        record.note(f"{run['scf_not_converged']} SCF runs did not converge")
    record.data.update(
        run=run,
        measured={"density_g_cm3": rho_exp, "reference": source},
        lengths_a=lengths.tolist(),
        cellpar=final.cell.cellpar().tolist(),
    )
    record.write(args.out, {"cp2k": cp2k_version(dft["command"])})


if __name__ == "__main__":
    main()
