"""Initial data from short AIMD runs (as DP-GEN's init_bulk), through the label store.

The labelling engine runs the MD (:meth:`lpsflow.dft.Engine.md_frames`): CP2K an NVT AIMD
(CSVR thermostat) with the labelling settings (same functional, basis, cutoffs, SCF
threshold: the same ``physics`` as a single point; :mod:`lpsflow.dft.cp2k_md`), the teacher
its own MD (ASE, same thermostat, seed, length and stride). Every ``every``-th step is a
frame with its labels. This module keeps runs and frames: each frame whose label is complete
becomes a store entry with the key a single point of that frame would have, so a later
request for the same frame is served from the store.

A run that crashes or hits its time limit keeps the frames printed before: only complete
frames are read. The run folder (input, output, trajectory) is kept under
``<store>/aimd/<run key>/`` with a ``record.json``; a finished or crashed run is not repeated
(unless ``retry_failed``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time

from ase import Atoms
from ase.io import write

from lpsflow.dft import get_engine
from lpsflow.dft.base import AimdSettings
from lpsflow.store import LabelStore, checksums, frame_key, write_json


# ---- running ----
def run_key(atoms: Atoms, physics: dict, md: AimdSettings) -> str:
    """Content address of one AIMD run: starting frame, label settings and MD settings."""
    payload = {"frame": frame_key(atoms, physics), "md": md.__dict__}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


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
    engine = get_engine(settings["engine"], settings, threads=threads)
    physics = engine.physics()
    rkey = run_key(atoms, physics, md)
    folder = store.root / "aimd" / rkey[:2] / rkey
    record_path = folder / "record.json"
    if record_path.exists():
        record = json.loads(record_path.read_text())
        if record["status"] == "complete" or not retry_failed:
            return record["frames"], {**record, "reused": True}
    work = store.new_workdir(f"aimd-{rkey}")
    write(work / "start.extxyz", atoms, format="extxyz")
    parsed, reason, returncode, wall = engine.md_frames(atoms, md, work)
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
