"""Teacher engine: a universal machine-learned potential labels frames in place of DFT.

The teacher's answer can be computed directly (its own MD), so a campaign labelled by it
tests whether concurrent learning recovers a known conductivity. The models' weights ship
inside their PyPI wheels (CHGNet 0.3.0 in ``chgnet``; SevenNet-0, SevenNet-l3i5 and the
multi-fidelity SevenNet-MF-0 in ``sevenn``), so labelling works offline: a SevenNet model
is loaded from the checkpoint file inside the installed package, never by name (which
would download a missing checkpoint).

An optional DFT-D3 correction (``dft.teacher_dispersion``, the ``dftd3`` package,
simple-dftd3) is added to the model's energy, forces and stress (ASE ``SumCalculator``):
the universal potentials are fitted to PBE(+U) data without dispersion.

Units and signs are those of the CP2K labels: energy (eV), forces (eV/angstrom), virial (eV)
in the DeePMD convention virial = -stress x volume, with the ASE stress (eV/angstrom^3,
positive = tension, ``stress = (1/V) dE/d(strain)``). An exception or a non-finite energy,
force or stress is a failed frame (recorded in the store); a model that cannot be loaded is
a :class:`lpsflow.dft.SetupError`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from ase import Atoms
from ase.stress import voigt_6_to_full_3x3_stress

from lpsflow.dft.base import AimdSettings, Outcome, SetupError, register

if TYPE_CHECKING:
    import dpdata


class Model(NamedTuple):
    """A teacher model whose weights ship in its wheel."""

    family: str  # model family, in the store key ("chgnet", "sevennet")
    version: str  # model version, in the store key
    name: str  # printed name ("CHGNet")
    package: str  # the PyPI package that computes it
    checkpoint: str = ""  # weights file inside the package (SevenNet)
    modal: str = ""  # fidelity of a multi-fidelity model (SevenNet-MF-0: PBE or R2SCAN)


_SEVENN = "pretrained_potentials"
#: teacher models by config name (``dft.model``); every one loads offline
MODELS: dict[str, Model] = {
    "chgnet-0.3.0": Model("chgnet", "0.3.0", "CHGNet", "chgnet"),
    "sevennet-0": Model(
        "sevennet",
        "0_11Jul2024",
        "SevenNet",
        "sevenn",
        f"{_SEVENN}/SevenNet_0__11Jul2024/checkpoint_sevennet_0.pth",
    ),
    "sevennet-l3i5": Model(
        "sevennet", "l3i5", "SevenNet", "sevenn", f"{_SEVENN}/SevenNet_l3i5/checkpoint_l3i5.pth"
    ),
    "sevennet-mf-0-pbe": Model(
        "sevennet",
        "MF_0",
        "SevenNet",
        "sevenn",
        f"{_SEVENN}/SevenNet_MF_0/checkpoint_sevennet_mf_0.pth",
        "PBE",
    ),
    "sevennet-mf-0-r2scan": Model(
        "sevennet",
        "MF_0",
        "SevenNet",
        "sevenn",
        f"{_SEVENN}/SevenNet_MF_0/checkpoint_sevennet_mf_0.pth",
        "R2SCAN",
    ),
}

#: D3 damping functions of ``dft.teacher_dispersion.damping`` (simple-dftd3 names) and how
#: theory labels print them
DAMPINGS = {"none": "", "d3bj": "D3(BJ)", "d3zero": "D3(0)"}
#: parameters each damping needs when given explicitly (simple-dftd3's ``params_tweaks``)
DAMPING_PARAMETERS = {
    "d3bj": {"required": {"s8", "a1", "a2"}, "allowed": {"s6", "s8", "s9", "a1", "a2", "alp"}},
    "d3zero": {
        "required": {"s8", "rs6"},
        "allowed": {"s6", "s8", "s9", "rs6", "rs8", "alp"},
    },
}


def dispersion_settings(settings: dict) -> dict:
    """The teacher's D3 correction from the ``dft`` settings, checked and normalised.

    Returns ``{"damping": "none"}`` or ``{"damping", "method", "parameters"}``: either the
    D3 parameters of a functional (``method``, simple-dftd3's table, two-body only as
    CP2K's default) or explicit ``parameters`` (s6, s8, s9, a1, a2 / rs6, rs8, alp;
    dimensionless, a2 in bohr) with ``method`` empty. Raises SetupError naming the key.
    """
    disp = dict(settings.get("teacher_dispersion") or {})
    damping = str(disp.get("damping", "none")).lower()
    key = "dft.teacher_dispersion"
    if damping not in DAMPINGS:
        raise SetupError(f"{key}.damping", f"{damping!r} is not one of {sorted(DAMPINGS)}")
    if damping == "none":
        return {"damping": "none"}
    method = str(disp.get("method") or "").strip()
    params = {str(k): float(v) for k, v in sorted((disp.get("parameters") or {}).items())}
    if bool(method) == bool(params):
        raise SetupError(
            key,
            "give exactly one of method (a functional whose D3 parameters are used, e.g. PBE) "
            f"or parameters (explicit damping parameters); got method={method!r}, "
            f"parameters={params}",
        )
    if params:
        need = DAMPING_PARAMETERS[damping]
        missing = sorted(need["required"] - set(params))
        unknown = sorted(set(params) - need["allowed"])
        if missing or unknown:
            raise SetupError(
                f"{key}.parameters",
                f"{damping} needs {sorted(need['required'])} and accepts "
                f"{sorted(need['allowed'])}; missing {missing}, unknown {unknown}",
            )
    return {"damping": damping, "method": method.upper(), "parameters": params}


def d3_calculator(dispersion: dict):
    """The simple-dftd3 ASE calculator of a :func:`dispersion_settings` dict (eV, eV/A,
    eV/A^3), or None when the damping is ``none``."""
    if dispersion["damping"] == "none":
        return None
    try:
        from dftd3.ase import DFTD3
    except ImportError as err:
        raise SetupError(
            "dft.teacher_dispersion",
            f"the dftd3 package is missing ({err}); install it with: pip install '.[teacher]'",
        ) from err
    if dispersion["parameters"]:
        return DFTD3(damping=dispersion["damping"], params_tweaks=dict(dispersion["parameters"]))
    return DFTD3(method=dispersion["method"], damping=dispersion["damping"])


def _model_calculator(model: Model):
    if model.family == "chgnet":
        from chgnet.model import CHGNet, CHGNetCalculator

        net = CHGNet.load(model_name=model.version, use_device="cpu", verbose=False)
        return CHGNetCalculator(model=net, use_device="cpu", on_isolated_atoms="ignore")
    if model.family == "sevennet":
        import warnings

        import sevenn
        from sevenn.calculator import SevenNetCalculator

        path = Path(sevenn.__file__).parent / model.checkpoint
        if not path.is_file():  # never download: the weights must ship in the wheel
            raise FileNotFoundError(f"checkpoint {path} is not in the installed sevenn")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no TP accelerator": expected on the CPU
            return SevenNetCalculator(str(path), device="cpu", modal=model.modal or None)
    raise SetupError("dft.model", f"teacher model family {model.family!r} has no loader")


def load_calculator(model: str, threads: int = 1, dispersion: dict | None = None):
    """ASE calculator of the teacher ``model`` on the CPU with ``threads`` torch threads,
    plus the D3 correction ``dispersion`` (``dft.teacher_dispersion``, see
    :func:`dispersion_settings`; None or damping ``none``: the model alone).

    Raises SetupError if the model is unknown or cannot be loaded (package missing, weights
    absent): no frame can be labelled then, which is not a frame failure.
    """
    if model not in MODELS:
        raise SetupError("dft.model", f"unknown teacher model {model!r}; known: {sorted(MODELS)}")
    d3 = d3_calculator(dispersion_settings({"teacher_dispersion": dispersion}))
    try:
        import torch

        torch.set_num_threads(max(1, int(threads)))
        calc = _model_calculator(MODELS[model])
    except SetupError:
        raise
    except Exception as err:  # ImportError, missing weights, torch errors
        raise SetupError(
            "dft.model",
            f"teacher model {model} cannot be loaded ({type(err).__name__}: {err}); "
            "install it with: pip install '.[teacher]'",
        ) from err
    if d3 is None:
        return calc
    from ase.calculators.mixing import SumCalculator

    return SumCalculator([calc, d3])


def model_version(model: str) -> str:
    """Version of the package that computes ``model`` ("" if not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    package = MODELS[model].package
    try:
        return f"{package} {version(package)}"
    except PackageNotFoundError:
        return ""


def to_system(
    atoms: Atoms, energy: float, forces: np.ndarray, stress_voigt: np.ndarray
) -> dpdata.LabeledSystem:
    """One labelled frame: energy (eV), forces (eV/angstrom), virial = -stress x V (eV).

    ``stress_voigt`` is the ASE stress (eV/angstrom^3, xx yy zz yz xz xy, positive = tension).
    """
    import dpdata  # here: importing it loads every plugin (see lpsflow.dft)

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


def teacher_md_frames(atoms: Atoms, calculator, md: AimdSettings) -> tuple[list[dict], str]:
    """NVT MD of ``atoms`` with the teacher ``calculator`` (ASE, Bussi's CSVR thermostat as
    CP2K's, Maxwell-Boltzmann velocities from ``md.seed``); every ``md.every``-th step (0, n,
    2n, ...) is a labelled frame, as in :func:`parse_run`. An exception stops the run and
    keeps the frames before it (reason ``crash: ...``); a non-finite label is a failed frame.
    """
    from ase import units  # ASE's MD modules: imported where the teacher runs MD
    from ase.md.bussi import Bussi
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    work = atoms.copy()
    work.calc = calculator
    rng = np.random.default_rng(md.seed)
    thermalize_momenta(work, md.temperature, rng=rng)
    Stationary(work)
    dyn = Bussi(
        work, md.timestep_fs * units.fs, md.temperature, md.thermostat_fs * units.fs, rng=rng
    )
    frames, step = [], 0
    try:
        while step <= md.steps:
            energy, forces = work.get_potential_energy(), work.get_forces()
            stress = work.get_stress(voigt=True)
            values = [np.atleast_1d(energy), forces, stress]
            finite = all(np.all(np.isfinite(v)) for v in values)
            frames.append(
                {
                    "step": step,
                    "coords": work.positions.copy(),
                    "system": to_system(work, energy, forces, stress) if finite else None,
                    "reason": "" if finite else "non_finite: energy, forces or stress",
                }
            )
            if step + md.every > md.steps:
                break
            dyn.run(md.every)
            step += md.every
    except Exception as err:  # the teacher failed on a configuration: keep what came before
        return frames, f"crash: {type(err).__name__}: {err}"[:500]
    return frames, ""


@register("mlip")
class Mlip:
    """Single points of a universal ML potential through its ASE calculator (the teacher),
    with an optional D3 correction."""

    def __init__(self, settings: dict, threads: int = 1, calculator=None):
        self.model = settings.get("model", "chgnet-0.3.0")
        if self.model not in MODELS:
            raise SetupError(
                "dft.model", f"unknown teacher model {self.model!r}; known: {sorted(MODELS)}"
            )
        self.dispersion = dispersion_settings(settings)
        self.threads = threads
        self._calc = calculator  # loaded on first use unless given (tests)

    def physics(self) -> dict:
        """Store-key settings: model family and version (and fidelity), D3 when used."""
        m = MODELS[self.model]
        out = {"engine": "mlip", "model": m.family, "model_version": m.version}
        if m.modal:
            out["modal"] = m.modal
        if self.dispersion["damping"] != "none":
            out["dispersion"] = self.dispersion
        return out

    def theory(self) -> dict:
        """Level of theory of the labels (:mod:`lpsflow.importing`): model name, version
        (and fidelity), D3 damping with its method or parameters ("none" without)."""
        m = MODELS[self.model]
        out = {"model": m.name, "model_version": m.version, "dispersion": "none"}
        if m.modal:
            out["modal"] = m.modal
        disp = self.dispersion
        if disp["damping"] != "none":
            out["dispersion"] = DAMPINGS[disp["damping"]]
            if disp["method"]:
                out["dispersion_method"] = disp["method"]
            else:
                out["dispersion_parameters"] = ",".join(
                    f"{k}={v:g}" for k, v in disp["parameters"].items()
                )
        return out

    def version(self) -> str:
        """Versions of the packages that compute the labels (a stored failure remembers
        them): the model's, and dftd3's when D3 is on."""
        text = model_version(self.model)
        if self.dispersion["damping"] != "none":
            from importlib.metadata import PackageNotFoundError, version

            try:
                text += f", dftd3 {version('dftd3')}"
            except PackageNotFoundError:
                pass
        return text

    @property
    def calculator(self):
        if self._calc is None:
            self._calc = load_calculator(self.model, self.threads, self.dispersion)
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

    def md_frames(self, atoms: Atoms, md: AimdSettings, workdir: Path) -> tuple:
        """The teacher's own NVT MD of ``atoms`` (:func:`teacher_md_frames`); (frames, why it
        stopped early or "", exit code None, wall seconds). Nothing is written to
        ``workdir``: no external program runs."""
        calc = self.calculator  # SetupError propagates: not a frame failure
        start = time.monotonic()
        frames, reason = teacher_md_frames(atoms, calc, md)
        return frames, reason, None, time.monotonic() - start
