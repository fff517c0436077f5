"""CP2K's side of an initial-data AIMD run (lpsflow.aimd): the NVT input made from a single
point's, and the frames read back from what CP2K printed (complete frames only).

CSVR thermostat; positions, forces and the analytical stress printed every ``every`` steps.
Units: CP2K prints positions in angstrom, energies in Hartree, forces in Hartree/bohr and the
stress in GPa; labels are eV, eV/angstrom and virial = stress x volume in eV (the convention
of :mod:`lpsflow.dft.cp2k`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from ase import Atoms

from lpsflow.dft.base import AimdSettings

#: CP2K's GLOBAL PROJECT of the labelling input (names the trajectory files)
PROJECT = "label"


def _each(every: int) -> str:
    return f"&EACH\n        MD {every}\n      &END EACH"


def md_input(text: str, md: AimdSettings) -> str:
    """CP2K MD input: a single point's input ``text`` (the labelling FORCE_EVAL) turned into
    an NVT run with a MOTION section."""
    edits = {
        "RUN_TYPE ENERGY_FORCE": f"RUN_TYPE MD\n  SEED {md.seed}",
    }
    for section in ("FORCES", "STRESS_TENSOR"):  # FORCE_EVAL printouts every n-th step
        edits[f"    &{section} ON\n    &END {section}"] = (
            f"    &{section} ON\n      {_each(md.every)}\n    &END {section}"
        )
    for old, new in edits.items():
        if old not in text:
            raise ValueError(f"CP2K input template changed: {old.split()[0]} not found")
        text = text.replace(old, new)
    motion = f"""&MOTION
  &MD
    ENSEMBLE NVT
    STEPS {md.steps}
    TIMESTEP {md.timestep_fs}
    TEMPERATURE {md.temperature}
    &THERMOSTAT
      TYPE CSVR
      &CSVR
        TIMECON {md.thermostat_fs}
      &END CSVR
    &END THERMOSTAT
    &PRINT
      &ENERGY
      {_each(md.every)}
      &END ENERGY
    &END PRINT
  &END MD
  &PRINT
    &TRAJECTORY
      {_each(md.every)}
    &END TRAJECTORY
    &FORCES
      {_each(md.every)}
    &END FORCES
    &RESTART OFF
    &END RESTART
    &RESTART_HISTORY OFF
    &END RESTART_HISTORY
  &END PRINT
&END MOTION
"""
    return text + motion


# ---- parsing (complete frames only) ----
def read_xyz_blocks(path: Path) -> list[tuple[int, float, list[str], np.ndarray]]:
    """Complete blocks of a CP2K ``*-pos-*.xyz``/``*-frc-*.xyz`` file: (step, E in Hartree,
    symbols, values); a block cut short by a crash is dropped."""
    if not path.exists():
        return []
    lines = path.read_text(errors="replace").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        try:
            n = int(lines[i].split()[0])
        except (ValueError, IndexError):
            break
        body = lines[i + 2 : i + 2 + n]
        if len(body) < n or i + 1 >= len(lines):
            break
        head = re.search(r"i\s*=\s*(\d+).*E\s*=\s*(\S+)", lines[i + 1])
        try:
            rows = [ln.split() for ln in body]
            values = np.array([[float(v) for v in r[1:4]] for r in rows])
        except (ValueError, IndexError):
            break
        if head is None or values.shape != (n, 3):
            break
        blocks.append((int(head.group(1)), float(head.group(2)), [r[0] for r in rows], values))
        i += 2 + n
    return blocks


def read_stresses(text: str) -> list[np.ndarray]:
    """Complete analytical stress tensors (GPa) printed in a CP2K output, in order."""
    out = []
    for part in text.split("STRESS| Analytical stress tensor [GPa]")[1:]:
        part = part.split("Eigenvectors")[0]
        num = r"(-?\d[\d.]*E[+-]\d+)"
        rows = re.findall(rf"STRESS\|[ \t]+[xyz][ \t]+{num}[ \t]+{num}[ \t]+{num}", part)[:3]
        if len(rows) < 3:
            break
        try:
            out.append(np.array(rows, dtype=float))
        except ValueError:
            break
    return out


def scf_converged_per_step(text: str) -> list[bool]:
    """For each force evaluation (MD step 0, 1, ...) of a CP2K output: did its SCF converge?"""
    flags = []
    for part in text.split("ENERGY| Total FORCE_EVAL")[:-1]:
        tail = part[part.rfind("SCF run") - 10 :] if "SCF run" in part else ""
        flags.append("SCF run converged" in tail)
    return flags


def parse_run(workdir: Path, atoms: Atoms, output_name: str) -> list[dict]:
    """Frames of an AIMD run folder: dicts with ``step``, ``coords`` (angstrom), ``system``
    (a one-frame ``dpdata.LabeledSystem`` or None) and ``reason`` (why there is no label).
    ``output_name``: CP2K's output file in ``workdir``."""
    import dpdata  # here: importing it loads every plugin (see lpsflow.dft)
    from dpdata.unit import EnergyConversion, LengthConversion, PressureConversion

    hartree_ev = EnergyConversion("hartree", "eV").value()
    bohr_ang = LengthConversion("bohr", "angstrom").value()
    gpa_per_ev_a3 = PressureConversion("eV/angstrom^3", "GPa").value()
    output = workdir / output_name
    text = output.read_text(errors="replace") if output.exists() else ""
    pos = read_xyz_blocks(workdir / f"{PROJECT}-pos-1.xyz")
    frc = read_xyz_blocks(workdir / f"{PROJECT}-frc-1.xyz")
    stresses = read_stresses(text)
    converged = scf_converged_per_step(text)
    symbols = atoms.get_chemical_symbols()
    names = list(dict.fromkeys(symbols))
    types = np.array([names.index(s) for s in symbols])
    cell = np.asarray(atoms.cell)
    volume = abs(np.linalg.det(cell))
    frames = []
    for (step, energy, syms, coords), (fstep, _, _, forces), stress in zip(
        pos, frc, stresses, strict=False
    ):
        reason = ""
        if fstep != step or syms != symbols:
            reason = "parse: trajectory and forces disagree"
        elif step >= len(converged) or not converged[step]:
            reason = "scf_not_converged"
        system = None
        if not reason:
            data = {
                "atom_names": names,
                "atom_numbs": [symbols.count(n) for n in names],
                "atom_types": types,
                "orig": np.zeros(3),
                "cells": cell[None],
                "coords": coords[None],
                "energies": np.array([energy * hartree_ev]),
                "forces": forces[None] * hartree_ev / bohr_ang,
                "virials": stress[None] * volume / gpa_per_ev_a3,
                "nopbc": False,
            }
            values = [data["energies"], data["forces"], data["virials"]]
            if all(np.all(np.isfinite(v)) for v in values):
                system = dpdata.LabeledSystem(data=data)
            else:
                reason = "non_finite: energy, forces or virial"
        frames.append({"step": step, "coords": coords, "system": system, "reason": reason})
    return frames


def run_outcome(output: Path, returncode: int | None, timed_out: bool) -> str:
    """ "" if the run that wrote ``output`` ended normally, else why it stopped early
    (timeout, crash)."""
    if timed_out:
        return "timeout"
    text = output.read_text(errors="replace") if output.exists() else ""
    if "PROGRAM ENDED AT" not in text:
        return f"crash: exit code {returncode}, output ends early"
    if returncode not in (0, None):
        return f"crash: exit code {returncode}"
    return ""
