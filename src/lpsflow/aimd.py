"""Initial data from short CP2K AIMD runs (as DP-GEN's init_bulk), through the label store.

With the teacher engine (``dft.engine: mlip``) the run is the teacher's own MD (ASE, same
thermostat, seed, length and stride) and its frames carry the teacher's labels.

One NVT run (CSVR thermostat) of a starting cell with the labelling settings (same
functional, basis, cutoffs, SCF threshold: the same ``physics`` as a single point) prints
positions, forces and the analytical stress every ``every`` steps. Each printed frame whose
SCF converged becomes a store entry with the key a single point of that frame would have,
so a later request for the same frame is served from the store.

A run that crashes or hits its time limit keeps the frames printed before: only complete
frames (position, force and stress blocks all present) are read. The run folder (input,
output, trajectory) is kept under ``<store>/aimd/<run key>/`` with a ``record.json``; a
finished or crashed run is not repeated (unless ``retry_failed``).

Units: CP2K prints positions in angstrom, energies in Hartree, forces in Hartree/bohr and
the stress in GPa; labels are eV, eV/angstrom and virial = stress x volume in eV (the
convention of :mod:`lpsflow.dft.cp2k`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import dpdata
import numpy as np
from ase import Atoms
from ase.io import write
from dpdata.unit import EnergyConversion, LengthConversion, PressureConversion

from lpsflow.dft import get_engine
from lpsflow.dft.cp2k import INPUT, OUTPUT, input_text
from lpsflow.dft.mlip import to_system
from lpsflow.launch import program_env
from lpsflow.store import LabelStore, checksums, frame_key, write_json

HARTREE_EV = EnergyConversion("hartree", "eV").value()
BOHR_ANG = LengthConversion("bohr", "angstrom").value()
GPA_PER_EV_A3 = PressureConversion("eV/angstrom^3", "GPa").value()
PROJECT = "label"


@dataclass(frozen=True)
class AimdSettings:
    """Science settings of an initial-data AIMD run (``init.aimd`` of the config)."""

    steps: int = 100
    every: int = 10
    temperature: float = 600.0  # K
    timestep_fs: float = 1.0  # fs
    thermostat_fs: float = 50.0  # fs, CSVR time constant
    seed: int = 0

    @classmethod
    def from_config(cls, aimd: dict) -> AimdSettings:
        return cls(**{k: aimd[k] for k in cls.__dataclass_fields__ if k in aimd})


def _each(every: int) -> str:
    return f"&EACH\n        MD {every}\n      &END EACH"


def md_input(atoms: Atoms, settings: dict, md: AimdSettings) -> str:
    """CP2K MD input: the labelling FORCE_EVAL of ``settings`` plus an NVT MOTION section."""
    text = input_text(atoms, settings)
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


def parse_run(workdir: Path, atoms: Atoms) -> list[dict]:
    """Frames of an AIMD run folder: dicts with ``step``, ``coords`` (angstrom), ``system``
    (a one-frame ``dpdata.LabeledSystem`` or None) and ``reason`` (why there is no label)."""
    output = workdir / OUTPUT
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
                "energies": np.array([energy * HARTREE_EV]),
                "forces": forces[None] * HARTREE_EV / BOHR_ANG,
                "virials": stress[None] * volume / GPA_PER_EV_A3,
                "nopbc": False,
            }
            values = [data["energies"], data["forces"], data["virials"]]
            if all(np.all(np.isfinite(v)) for v in values):
                system = dpdata.LabeledSystem(data=data)
            else:
                reason = "non_finite: energy, forces or virial"
        frames.append({"step": step, "coords": coords, "system": system, "reason": reason})
    return frames


# ---- the teacher's MD (engine mlip) ----
def teacher_md_frames(atoms: Atoms, calculator, md: AimdSettings) -> tuple[list[dict], str]:
    """NVT MD of ``atoms`` with the teacher ``calculator`` (ASE, Bussi's CSVR thermostat as
    CP2K's, Maxwell-Boltzmann velocities from ``md.seed``); every ``md.every``-th step (0, n,
    2n, ...) is a labelled frame, as in :func:`parse_run`. An exception stops the run and
    keeps the frames before it (reason ``crash: ...``); a non-finite label is a failed frame.
    """
    from ase import units
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


# ---- running ----
def run_key(atoms: Atoms, physics: dict, md: AimdSettings) -> str:
    """Content address of one AIMD run: starting frame, label settings and MD settings."""
    payload = {"frame": frame_key(atoms, physics), "md": md.__dict__}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _execute(settings: dict, workdir: Path, threads: int, timeout_s: float) -> tuple:
    """Run CP2K in ``workdir``; returns (returncode, timed_out, wall seconds)."""
    import shlex

    ranks = int(settings.get("mpi_ranks", 1))  # {ranks}: MPI ranks (dft.mpi_ranks)
    command = settings["command"].format(threads=threads, ranks=ranks)
    argv = [*shlex.split(command), "-i", INPUT, "-o", OUTPUT]
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(threads))
    if settings.get("data_dir"):
        env["CP2K_DATA_DIR"] = str(settings["data_dir"])
    env = program_env(argv, env)
    start = time.monotonic()
    timed_out, returncode = False, None
    with open(workdir / "stdout.txt", "w") as log:
        proc = subprocess.Popen(
            argv, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            returncode = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return returncode, timed_out, time.monotonic() - start


def run_outcome(workdir: Path, returncode: int | None, timed_out: bool) -> str:
    """ "" if the run ended normally, else why it stopped early (timeout, crash)."""
    if timed_out:
        return "timeout"
    output = workdir / OUTPUT
    text = output.read_text(errors="replace") if output.exists() else ""
    if "PROGRAM ENDED AT" not in text:
        return f"crash: exit code {returncode}, output ends early"
    if returncode not in (0, None):
        return f"crash: exit code {returncode}"
    return ""


def store_frames(
    frames: list[dict], atoms: Atoms, physics: dict, store: LabelStore, source: dict
) -> list[dict]:
    """Commit every labelled frame as a store entry; a frame without label (its SCF did not
    converge) is reported as failed but not stored (a single point of it may still work)."""
    out = []
    symbols = atoms.get_chemical_symbols()
    for frame in frames:
        system = frame["system"]
        snap = Atoms(symbols, positions=frame["coords"], cell=atoms.cell, pbc=True)
        key = frame_key(snap, physics)
        if system is None:
            out.append(
                {"step": frame["step"], "key": key, "status": "failed", "reason": frame["reason"]}
            )
            continue
        old = store.record(key)
        if old is None or old["status"] != "ok" or not store.verify(key):
            work = store.new_workdir(key)
            write(work / "frame.extxyz", snap, format="extxyz")
            system.to("deepmd/npy", str(work / "label"))
            record = {
                "key": key,
                "status": "ok",
                "reason": "",
                "engine": physics.get("engine", ""),
                "physics": physics,
                "n_atoms": len(snap),
                "formula": snap.get_chemical_formula(),
                "attempts": [{"attempt": 0, "reason": "", "aimd_step": frame["step"]}],
                "energy_eV": float(system["energies"][0]),
                "checksums": checksums(work / "label", work),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "source": {**source, "aimd_step": frame["step"]},
            }
            store.commit(key, work, record, replace=old is not None)
        out.append({"step": frame["step"], "key": key, "status": "ok", "reason": ""})
    return out


def aimd_frames(
    atoms: Atoms,
    settings: dict,
    md: AimdSettings,
    store: LabelStore,
    threads: int = 1,
    retry_failed: bool = False,
) -> tuple[list[dict], dict]:
    """Labelled frames of one AIMD run of ``atoms`` (run once; reused from the store).

    ``settings`` are the resolved ``dft`` settings (the run's time limit is
    ``timeout_s`` x (steps + 1)). Returns the per-frame results (step, key, status, reason)
    and the run record (status ``complete`` or ``stopped`` with its reason, wall time).
    """
    physics = get_engine(settings["engine"], settings, threads=threads).physics()
    rkey = run_key(atoms, physics, md)
    folder = store.root / "aimd" / rkey[:2] / rkey
    record_path = folder / "record.json"
    if record_path.exists():
        record = json.loads(record_path.read_text())
        if record["status"] == "complete" or not retry_failed:
            return record["frames"], {**record, "reused": True}
    work = store.new_workdir(f"aimd-{rkey}")
    write(work / "start.extxyz", atoms, format="extxyz")
    if settings["engine"] == "mlip":  # the teacher's own MD: no external program
        engine = get_engine("mlip", settings, threads=threads)
        start = time.monotonic()
        parsed, reason = teacher_md_frames(atoms, engine.calculator, md)
        returncode, wall = None, time.monotonic() - start
    else:
        (work / INPUT).write_text(md_input(atoms, settings, md))
        returncode, timed_out, wall = _execute(
            settings, work, threads, settings["timeout_s"] * (md.steps + 1)
        )
        for scratch in work.glob("*.wfn*"):
            scratch.unlink()
        reason = run_outcome(work, returncode, timed_out)
        parsed = parse_run(work, atoms)
    source = {k: v for k, v in atoms.info.items() if isinstance(v, (str, int, float))}
    source["aimd_run"] = rkey
    frames = store_frames(parsed, atoms, physics, store, source)
    record = {
        "key": rkey,
        "status": "stopped" if reason else "complete",
        "reason": reason,
        "returncode": returncode,
        "wall_s": round(wall, 3),
        "md": md.__dict__,
        "physics": physics,
        "frames": frames,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    write_json(work / "record.json", record)
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists():
        shutil.rmtree(folder)
    os.rename(work, folder)
    return frames, {**record, "reused": False}


def last_frame(atoms: Atoms, frames: list[dict], store: LabelStore) -> Atoms:
    """The run's last labelled frame (from the store), with ``atoms``' info; ``atoms`` itself
    if no frame was labelled. An equilibrated start for the first exploration: the sampled
    cell is a random packing whose violent first relaxation a young model cannot follow."""
    from ase.io import read

    for frame in reversed(frames):
        path = store.entry(frame["key"]) / "frame.extxyz" if frame["status"] == "ok" else None
        if path is not None and path.exists():
            last = read(path)
            last.info = {**atoms.info, "aimd_step": frame["step"]}
            last.wrap()
            return last
    return atoms.copy()


def manifest_rows(atoms: Atoms, frames: list[dict], run: dict) -> list[dict]:
    """Rows of a labelling manifest for the frames of one run (one engine run in total)."""
    rows = []
    for i, frame in enumerate(frames):
        rows.append(
            {
                "composition": atoms.info.get("composition", ""),
                "frame": frame["step"],
                "replica": atoms.info.get("replica", -1),
                "key": frame["key"],
                "status": frame["status"],
                "reason": frame["reason"],
                "reused": run["reused"],
                "engine_runs": int(i == 0 and not run["reused"]),
                "source": "aimd",
            }
        )
    return rows
