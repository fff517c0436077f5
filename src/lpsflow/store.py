"""Content-addressed store of DFT labels.

An entry's key is the SHA-256 of the frame (species, positions and cell rounded to
1e-5 angstrom, periodicity) and of the engine settings that define the label (functional,
basis, cutoffs, ...; not the command or the SCF strategy). A frame is therefore labelled
once, whatever reruns upstream and whichever composition or iteration asks for it again.

Layout under the store root::

    entries/<key[:2]>/<key>/record.json   status ("ok" or "failed"), reason, attempts, energy
                           /frame.extxyz  the frame as it was sent to the engine
                           /label/        deepmd/npy of the labelled frame (status ok only)
                           /attempt_<n>/  engine input and output of each attempt
    tmp/                                   work folders of running calculations

An entry is written in a private work folder and renamed into place in one step, so an
entry is either absent or complete; a crash leaves only a stale work folder in ``tmp/``.
The store is deliberately not a Snakemake output: Snakemake deletes outputs before it
reruns a job, and labels must survive that.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
from ase import Atoms

DECIMALS = 5


def settings_digest(physics: dict) -> str:
    """Stable digest of the settings that define a label."""
    return hashlib.sha256(json.dumps(physics, sort_keys=True).encode()).hexdigest()


def frame_key(atoms: Atoms, physics: dict) -> str:
    """Content address of ``atoms`` labelled with ``physics`` settings."""
    payload = {
        "symbols": atoms.get_chemical_symbols(),
        "positions": (np.round(atoms.positions, DECIMALS) + 0.0).tolist(),
        "cell": (np.round(np.asarray(atoms.cell), DECIMALS) + 0.0).tolist(),
        "pbc": [bool(p) for p in atoms.pbc],
        "settings": settings_digest(physics),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class LabelStore:
    """File-system store of labels addressed by :func:`frame_key`."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        (self.root / "entries").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    def entry(self, key: str) -> Path:
        return self.root / "entries" / key[:2] / key

    def record(self, key: str) -> dict | None:
        """The record of ``key``, or None if it was never labelled."""
        path = self.entry(key) / "record.json"
        if not path.exists():
            return None
        return json.loads(path.read_text())

    def new_workdir(self, key: str) -> Path:
        work = self.root / "tmp" / f"{key}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        work.mkdir(parents=True)
        return work

    def commit(self, key: str, workdir: Path, record: dict, replace: bool = False) -> dict:
        """Write ``record`` into ``workdir`` and move it into place as the entry of ``key``.

        If another process committed ``key`` first, its entry wins and ``workdir`` is
        discarded, unless ``replace`` (used to retry a failed entry) is set.
        """
        write_json(workdir / "record.json", record)
        target = self.entry(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if replace and target.exists():
            trash = self.root / "tmp" / f"{key}.replaced.{uuid.uuid4().hex[:8]}"
            os.rename(target, trash)
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.rename(workdir, target)
        except OSError:
            if not target.exists():
                raise
            shutil.rmtree(workdir, ignore_errors=True)
        return self.record(key)

    def label_path(self, key: str) -> Path:
        return self.entry(key) / "label"

    def verify(self, key: str) -> bool:
        """True if the label files still match the checksums recorded when labelled."""
        record = self.record(key)
        if record is None:
            return False
        for rel, digest in record.get("checksums", {}).items():
            path = self.entry(key) / rel
            if not path.is_file() or file_digest(path) != digest:
                return False
        return True


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def checksums(folder: Path, base: Path) -> dict:
    """SHA-256 of every file under ``folder``, keyed by path relative to ``base``."""
    return {
        str(p.relative_to(base)): file_digest(p) for p in sorted(folder.rglob("*")) if p.is_file()
    }


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)
