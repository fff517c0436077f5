"""Teacher engine: a universal machine-learned potential labels frames in place of DFT.

The teacher's answer can be computed directly (its own MD), so a campaign labelled by it
tests whether concurrent learning recovers a known conductivity. The model's weights ship
inside its PyPI wheel (CHGNet 0.3.0 in ``chgnet``), so labelling works offline.

Units and signs are those of the CP2K labels: energy (eV), forces (eV/angstrom), virial (eV)
in the DeePMD convention virial = -stress x volume, with the ASE stress (eV/angstrom^3,
positive = tension, ``stress = (1/V) dE/d(strain)``). An exception or a non-finite energy,
force or stress is a failed frame (recorded in the store); a model that cannot be loaded is
a :class:`lpsflow.dft.SetupError`.
"""

from __future__ import annotations

import time
from pathlib import Path

import dpdata
import numpy as np
from ase import Atoms
from ase.stress import voigt_6_to_full_3x3_stress

from lpsflow.dft import Outcome, SetupError, register

#: teacher models: config name -> (model family, model version); weights ship in the wheel
MODELS = {"chgnet-0.3.0": ("chgnet", "0.3.0")}


def load_calculator(model: str, threads: int = 1):
    """ASE calculator of the teacher ``model`` on the CPU with ``threads`` torch threads.

    Raises SetupError if the model is unknown or cannot be loaded (package missing, weights
    absent): no frame can be labelled then, which is not a frame failure.
    """
    if model not in MODELS:
        raise SetupError("dft.model", f"unknown teacher model {model!r}; known: {sorted(MODELS)}")
    family, version = MODELS[model]
    try:
        import torch

        torch.set_num_threads(max(1, int(threads)))
        if family == "chgnet":
            from chgnet.model import CHGNet, CHGNetCalculator

            net = CHGNet.load(model_name=version, use_device="cpu", verbose=False)
            return CHGNetCalculator(model=net, use_device="cpu", on_isolated_atoms="ignore")
    except Exception as err:  # ImportError, missing weights, torch errors
        raise SetupError(
            "dft.model",
            f"teacher model {model} cannot be loaded ({type(err).__name__}: {err}); "
            "install it with: pip install '.[teacher]'",
        ) from err
    raise SetupError("dft.model", f"teacher model family {family!r} has no loader")


def to_system(
    atoms: Atoms, energy: float, forces: np.ndarray, stress_voigt: np.ndarray
) -> dpdata.LabeledSystem:
    """One labelled frame: energy (eV), forces (eV/angstrom), virial = -stress x V (eV).

    ``stress_voigt`` is the ASE stress (eV/angstrom^3, xx yy zz yz xz xy, positive = tension).
    """
    symbols = atoms.get_chemical_symbols()
    names = list(dict.fromkeys(symbols))
    virial = -voigt_6_to_full_3x3_stress(np.asarray(stress_voigt, float)) * atoms.get_volume()
    data = {
        "atom_names": names,
        "atom_numbs": [symbols.count(n) for n in names],
        "atom_types": np.array([names.index(s) for s in symbols], dtype=int),
        "orig": np.zeros(3),
        "cells": np.array(atoms.cell, float)[None],  # copies: MD moves atoms in place
        "coords": np.array(atoms.positions, float)[None],
        "energies": np.array([float(energy)]),
        "forces": np.array(forces, float)[None],
        "virials": virial[None],
        "nopbc": not all(atoms.pbc),
    }
    return dpdata.LabeledSystem(data=data)


@register("mlip")
class Mlip:
    """Single points of a universal ML potential through its ASE calculator (the teacher)."""

    def __init__(self, settings: dict, threads: int = 1, calculator=None):
        self.model = settings.get("model", "chgnet-0.3.0")
        if self.model not in MODELS:
            raise SetupError(
                "dft.model", f"unknown teacher model {self.model!r}; known: {sorted(MODELS)}"
            )
        self.threads = threads
        self._calc = calculator  # loaded on first use unless given (tests)

    def physics(self) -> dict:
        family, version = MODELS[self.model]
        return {"engine": "mlip", "model": family, "model_version": version}

    def version(self) -> str:
        """Version of the package that computes the labels (a stored failure remembers it)."""
        from importlib.metadata import PackageNotFoundError, version

        family = MODELS[self.model][0]
        try:
            return f"{family} {version(family)}"
        except PackageNotFoundError:
            return ""

    @property
    def calculator(self):
        if self._calc is None:
            self._calc = load_calculator(self.model, self.threads)
        return self._calc

    def run(self, atoms: Atoms, workdir: Path, attempt: int) -> Outcome:
        calc = self.calculator  # SetupError propagates: not a frame failure
        workdir.mkdir(parents=True, exist_ok=True)
        info = {"program_version": self.version()}  # a stored failure remembers it
        frame = atoms.copy()
        frame.calc = calc
        start = time.monotonic()
        try:
            energy = frame.get_potential_energy()
            forces = frame.get_forces()
            stress = frame.get_stress(voigt=True)
        except Exception as err:
            reason = f"crash: {type(err).__name__}: {err}"
            (workdir / "error.txt").write_text(reason + "\n")
            return Outcome(None, reason[:500], time.monotonic() - start, None, info)
        wall = time.monotonic() - start
        values = [np.atleast_1d(energy), forces, stress]
        if not all(np.all(np.isfinite(v)) for v in values):
            return Outcome(None, "non_finite: energy, forces or stress", wall, None, info)
        (workdir / "result.txt").write_text(f"energy_eV {float(energy):.10f}\n")
        return Outcome(to_system(atoms, energy, forces, stress), "", wall, None, info)
