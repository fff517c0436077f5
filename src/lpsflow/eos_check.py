"""Equation-of-state check of a teacher-labelled campaign: the teacher's and each ensemble
member's pressure on the same frames, e.g. the last frames of the NPT exploration jobs.

A DP model can agree with itself on forces and still have the wrong pressure at densities it
was never labelled at; its NPT runs then settle at the wrong density, and sigma (Li per volume
x D) with it. The pressure includes the kinetic term N k T / V of the frame's temperature, so a
frame from NPT at 1 bar should give about 0 for the model that ran it. Units: GPa, K, A^3.

    python -m lpsflow.eos_check RUN ITERATION [--config RUN/config/config.yaml]

prints, for every NPT job of that iteration's exploration, the density, the teacher's and the
ensemble's pressure at its last frame (docs/validation.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from ase import Atoms, units

from lpsflow.config import type_map
from lpsflow.dft.mlip import load_calculator
from lpsflow.exploration import schedule_jobs

#: g/cm^3 per (amu / A^3)
DENSITY = 1.66053906660


def kinetic_pressure(atoms: Atoms, temperature: float) -> float:
    """N k T / V in GPa (the ideal-gas term of the frame's temperature)."""
    return len(atoms) * units.kB * temperature / atoms.get_volume() / units.GPa


def teacher_pressure(atoms: Atoms, calculator, temperature: float) -> float:
    """-trace(stress)/3 of ``calculator`` plus the kinetic term, GPa."""
    frame = atoms.copy()
    frame.calc = calculator
    static = -np.trace(frame.get_stress(voigt=False)) / 3 / units.GPa
    return float(static + kinetic_pressure(atoms, temperature))


def model_pressures(atoms: Atoms, graphs: list[str], type_map: list[str], temperature: float):
    """Each DeePMD model's pressure (virial trace / 3V, plus the kinetic term), GPa."""
    from deepmd.infer import DeepPot

    types = [type_map.index(s) for s in atoms.get_chemical_symbols()]
    coords, cell = atoms.positions.reshape(1, -1), atoms.cell.array.reshape(1, -1)
    out = []
    for graph in graphs:
        virial = DeepPot(graph).eval(coords, cell, types)[2].reshape(3, 3)
        out.append(np.trace(virial) / 3 / atoms.get_volume() / units.GPa)
    return [float(p + kinetic_pressure(atoms, temperature)) for p in out]


def exploration_pressures(
    run: Path, iteration: int, schedule: list[dict], calculator, type_map: list[str]
) -> pd.DataFrame:
    """Teacher vs ensemble pressure at the last frame of every NPT job of ``schedule`` (the
    campaign's ``explore.schedule``) in ``iteration`` of the campaign folder ``run``."""
    from ase.io import read

    it = run / "results" / f"iter_{iteration:03d}"
    graphs = sorted(str(p) for p in (it / "train").glob("model_*/graph.pb"))
    rows = []
    for j, job in enumerate(schedule_jobs(schedule)):
        if job["ensemble"] != "npt":
            continue
        for final in sorted((it / "explore").glob(f"*/job_{j}/final.extxyz")):
            atoms = read(final)
            temperature = float(job["t_end"])
            dp = model_pressures(atoms, graphs, type_map, temperature)
            rows.append(
                {
                    "composition": final.parent.parent.name,
                    "job": j,
                    "temperature_K": temperature,
                    "density_g_cm3": atoms.get_masses().sum() / atoms.get_volume() * DENSITY,
                    "p_teacher_GPa": teacher_pressure(atoms, calculator, temperature),
                    "p_dp_GPa": float(np.mean(dp)),
                    "p_dp_min_GPa": min(dp),
                    "p_dp_max_GPa": max(dp),
                }
            )
    return pd.DataFrame(rows)


def main(argv=None) -> None:

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="campaign folder (with results/)")
    p.add_argument("iteration", type=int)
    p.add_argument("--config", type=Path, help="default: RUN/config/config.yaml")
    args = p.parse_args(argv)
    config = yaml.safe_load((args.config or args.run / "config" / "config.yaml").read_text())
    table = exploration_pressures(
        args.run,
        args.iteration,
        config["explore"]["schedule"],
        load_calculator(
            config["dft"].get("model", "chgnet-0.3.0"),
            dispersion=config["dft"].get("teacher_dispersion"),
        ),
        type_map(config),
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
