"""Ground truth of a teacher-labelled campaign: MD with the teacher potential itself.

The run mirrors the DeePMD production run of :mod:`lpsflow.production`: the same glass,
velocities drawn at the temperature, NVT with a Nose-Hoover chain of 3 thermostats and a
damping time of 100 time steps (LAMMPS ``fix nvt ... $(100*dt)`` is a chain of 3 as well,
here ASE's ``NoseHooverChainNVT``), equilibration, then unwrapped Li positions recorded every
``dump_every`` steps in a LAMMPS text dump, so that :func:`lpsflow.transport.msd_from_dump`
analyses both runs with the same code. Units: K, fs, angstrom; speed in atom-steps per second.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
from ase import Atoms, units

LOOP_TIME = re.compile(r"Loop time of ([0-9.eE+-]+) on \d+ procs for (\d+) steps with (\d+) atoms")


def write_dump_frame(fh, step: int, atoms: Atoms, select: np.ndarray, type_map: list[str]) -> None:
    """One LAMMPS ``custom`` dump frame (id type xu yu zu) of the atoms in ``select``.

    Positions are written as ASE holds them during MD (never wrapped), i.e. unwrapped.
    """
    cell = np.asarray(atoms.cell)
    if not np.allclose(cell, np.diag(np.diag(cell))):
        raise ValueError("teacher MD dump: only orthorhombic cells are supported")
    pos = atoms.positions[select]
    types = [type_map.index(s) + 1 for s in np.asarray(atoms.get_chemical_symbols())[select]]
    lines = [
        "ITEM: TIMESTEP",
        str(step),
        "ITEM: NUMBER OF ATOMS",
        str(len(pos)),
        "ITEM: BOX BOUNDS pp pp pp",
        *(f"0.0 {cell[i, i]:.10f}" for i in range(3)),
        "ITEM: ATOMS id type xu yu zu",
        *(
            f"{i + 1} {t} {x:.6f} {y:.6f} {z:.6f}"
            for i, t, (x, y, z) in zip(np.flatnonzero(select), types, pos, strict=True)
        ),
    ]
    fh.write("\n".join(lines) + "\n")


def run_teacher_md(
    glass: Atoms,
    calculator,
    temperature: float,
    *,
    timestep_fs: float,
    equilibration_steps: int,
    steps: int,
    dump_every: int,
    seed: int,
    dump_path: str | Path,
    type_map: list[str],
    final_path: str | Path | None = None,
    species: str = "Li",
) -> dict:
    """NVT MD of ``glass`` with ``calculator`` at ``temperature`` (K); Li dump to ``dump_path``.

    The whole cell at the end is written to ``final_path`` (extxyz), if given.
    Returns the measured speed: wall seconds of the dynamics and atom-steps per second
    (model loading excluded, as LAMMPS' "Loop time" excludes set-up).
    """
    from ase.md.nose_hoover_chain import NoseHooverChainNVT
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation

    atoms = glass.copy()
    atoms.calc = calculator
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=np.random.default_rng(seed))
    Stationary(atoms)
    ZeroRotation(atoms)
    dt = timestep_fs * units.fs
    md = NoseHooverChainNVT(atoms, timestep=dt, temperature_K=temperature, tdamp=100 * dt, tchain=3)
    select = np.array(atoms.get_chemical_symbols()) == species
    start = time.monotonic()
    md.run(equilibration_steps)
    temps = []
    with open(dump_path, "w") as fh:
        write_dump_frame(fh, 0, atoms, select, type_map)
        for block in range(steps // dump_every):
            md.run(dump_every)
            temps.append(atoms.get_temperature())
            write_dump_frame(fh, (block + 1) * dump_every, atoms, select, type_map)
    wall = time.monotonic() - start
    if final_path is not None:  # whole cell at the end of the run, wrapped (for its structure)
        from ase.io import write

        last = atoms.copy()
        last.wrap()
        last.info.update(glass.info, temperature_K=temperature)
        write(final_path, last, format="extxyz")
    n_steps = equilibration_steps + (steps // dump_every) * dump_every
    return {
        "engine": "teacher",
        "n_atoms": len(atoms),
        "md_steps": int(n_steps),
        "md_wall_s": wall,
        "atom_steps_per_s": len(atoms) * n_steps / wall if wall > 0 else float("nan"),
        "mean_temperature_K": float(np.mean(temps)) if temps else float("nan"),
    }


def lammps_speed(log_path: str | Path) -> dict:
    """Atom-steps per second of a LAMMPS run from the "Loop time" lines of its log."""
    text = Path(log_path).read_text(errors="replace")
    wall = atom_steps = 0.0
    n_atoms = 0
    for seconds, n_steps, atoms in LOOP_TIME.findall(text):
        wall += float(seconds)
        atom_steps += int(n_steps) * int(atoms)
        n_atoms = int(atoms)
    return {
        "engine": "deepmd",
        "n_atoms": n_atoms,
        "md_steps": int(atom_steps / n_atoms) if n_atoms else 0,
        "md_wall_s": wall,
        "atom_steps_per_s": atom_steps / wall if wall > 0 else float("nan"),
    }


Z95 = 1.959963984540054  # two-sided 95 % quantile of the normal distribution


def compare(dp: pd.DataFrame, teacher: pd.DataFrame) -> pd.DataFrame:
    """Teacher vs DP per composition and temperature: D (cm^2/s) and sigma (S/cm).

    Both tables have the columns of the transport json files (``composition``,
    ``temperature_K``, ``D_cm2_s``, ``D_err_cm2_s``, ``sigma_S_cm``, ``sigma_err_S_cm``; the
    errors are standard deviations). The DP value agrees when it lies within the combined
    95 % interval of the difference, ``|DP - teacher| <= 1.96 sqrt(err_DP^2 + err_teacher^2)``.
    """

    keys = ["composition", "temperature_K"]
    cols = ["D_cm2_s", "D_err_cm2_s", "sigma_S_cm", "sigma_err_S_cm"]
    merged = pd.merge(dp[keys + cols], teacher[keys + cols], on=keys, suffixes=("_dp", "_teacher"))
    for q in ("D", "sigma"):
        unit = "cm2_s" if q == "D" else "S_cm"
        a, b = merged[f"{q}_{unit}_dp"], merged[f"{q}_{unit}_teacher"]
        half = Z95 * np.hypot(merged[f"{q}_err_{unit}_dp"], merged[f"{q}_err_{unit}_teacher"])
        merged[f"{q}_ratio"] = a / b
        merged[f"{q}_halfwidth95"] = half
        merged[f"{q}_agrees"] = (a - b).abs() <= half
    return merged.sort_values(keys).reset_index(drop=True)
