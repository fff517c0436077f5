"""Equation-of-state check of a teacher-labelled campaign: the teacher's and each ensemble
member's pressure on the same frames, e.g. the last frames of the NPT exploration jobs.

A DP model can agree with itself on forces and still have the wrong pressure at densities it
was never labelled at; its NPT runs then settle at the wrong density, and sigma (Li per volume
x D) with it. The pressure includes the kinetic term N k T / V of the frame's temperature, so a
frame from NPT at 1 bar should give about 0 for the model that ran it. Units: GPa, K, A^3.

    python -m lpsflow.eos_check --config RUN/config/config.yaml \
        --models RUN/results/iter_001/train/model_*/graph.pb \
        --frames RUN/results/iter_001/explore/*/job_*/final.extxyz

prints, for every given frame of an NPT exploration job, the density, the teacher's and the
ensemble's pressure (docs/validation.md). A frame is named by its composition and schedule job
by the info explore_md writes into it (composition, explore_job), or as ``COMP:J=PATH``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from ase import Atoms, units
from ase.io import read

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
    frames: list[tuple[str, int, Atoms]],
    graphs: list[str],
    schedule: list[dict],
    calculator,
    type_map: list[str],
) -> pd.DataFrame:
    """Teacher vs ensemble pressure on each (composition, schedule job, frame) whose job of
    ``schedule`` (the campaign's ``explore.schedule``) is NPT, at the job's final temperature;
    ``graphs``: the ensemble's frozen models."""
    jobs = schedule_jobs(schedule)
    rows = []
    for comp, j, atoms in frames:
        job = jobs[j]
        if job["ensemble"] != "npt":
            continue
        temperature = float(job["t_end"])
        dp = model_pressures(atoms, graphs, type_map, temperature)
        rows.append(
            {
                "composition": comp,
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


def frame_argument(text: str) -> tuple[str, int, Atoms]:
    """(composition, schedule job, frame) of ``COMP:J=PATH``, or of a bare ``PATH`` whose
    frame says what it is (``composition`` and ``explore_job`` in its info, as explore_md
    writes its final frames)."""
    name, _, path = text.rpartition("=") if "=" in text else ("", "", text)
    atoms = read(path)
    if name:
        comp, _, job = name.partition(":")
        return comp, int(job), atoms
    if "composition" not in atoms.info or "explore_job" not in atoms.info:
        raise argparse.ArgumentTypeError(
            f"{path}: the frame does not say its composition and job; give COMP:J=PATH"
        )
    return str(atoms.info["composition"]), int(atoms.info["explore_job"]), atoms


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, required=True, help="the campaign's config")
    p.add_argument("--models", nargs="+", required=True, help="the ensemble's graph.pb files")
    p.add_argument("--frames", nargs="+", type=frame_argument, required=True)
    args = p.parse_args(argv)
    config = yaml.safe_load(args.config.read_text())
    table = exploration_pressures(
        args.frames,
        sorted(args.models),
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
