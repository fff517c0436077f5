"""Label frames through the store: reuse what exists, run the engine for the rest.

A failed attempt (SCF not converged, crash, time limit, unparsable output) is retried with
the engine's robust settings up to ``max_attempts``; a frame that still fails is stored as
failed with its reason and never stops the batch. Failed entries are final unless
``retry_failed`` is set.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from ase import Atoms
from ase.io import write

from lpsflow.dft import Engine
from lpsflow.store import LabelStore, checksums, frame_key

log = logging.getLogger(__name__)


@dataclass
class LabelResult:
    key: str
    status: str  # "ok" or "failed"
    reason: str
    reused: bool
    n_runs: int  # engine runs made now (0 when reused)


def label_frame(
    atoms: Atoms,
    engine: Engine,
    store: LabelStore,
    max_attempts: int = 2,
    retry_failed: bool = False,
) -> LabelResult:
    """Label one frame, or return its stored label."""
    key = frame_key(atoms, engine.physics())
    old = store.record(key)
    if old is not None and old["status"] == "ok" and not store.verify(key):
        log.warning(
            "frame %s: stored label does not match its checksums; labelling again", key[:12]
        )
        old = {**old, "status": "corrupt"}
    if old is not None and (
        old["status"] == "ok" or (old["status"] == "failed" and not retry_failed)
    ):
        return LabelResult(key, old["status"], old.get("reason", ""), True, 0)
    work = store.new_workdir(key)
    write(work / "frame.extxyz", atoms, format="extxyz")
    attempts = []
    outcome = None
    for attempt in range(max_attempts):
        outcome = engine.run(atoms, work / f"attempt_{attempt}", attempt)
        attempts.append(
            {
                "attempt": attempt,
                "reason": outcome.reason,
                "wall_s": round(outcome.wall_s, 3),
                "returncode": outcome.returncode,
                **outcome.info,
            }
        )
        log.info("frame %s attempt %d: %s", key[:12], attempt, outcome.reason or "ok")
        if outcome.ok:
            outcome.system.to("deepmd/npy", str(work / "label"))
            break
    record = {
        "key": key,
        "status": "ok" if outcome.ok else "failed",
        "reason": outcome.reason,
        "engine": engine.name,
        "physics": engine.physics(),
        "n_atoms": len(atoms),
        "formula": atoms.get_chemical_formula(),
        "attempts": attempts,
        "energy_eV": float(outcome.system["energies"][0]) if outcome.ok else None,
        "checksums": checksums(work / "label", work) if outcome.ok else {},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "source": {k: v for k, v in atoms.info.items() if isinstance(v, (str, int, float))},
    }
    stored = store.commit(key, work, record, replace=old is not None)
    return LabelResult(key, stored["status"], stored["reason"], False, len(attempts))


def label_batch(
    frames: list[Atoms],
    engine: Engine,
    store: LabelStore,
    max_attempts: int = 2,
    retry_failed: bool = False,
) -> list[dict]:
    """Label ``frames`` one after the other; one row per frame for the batch manifest."""
    rows = []
    for frame in frames:
        result = label_frame(frame, engine, store, max_attempts, retry_failed)
        rows.append(
            {
                "composition": frame.info.get("composition", ""),
                "frame": frame.info.get("index", len(rows)),
                "replica": frame.info.get("replica", -1),
                "key": result.key,
                "status": result.status,
                "reason": result.reason,
                "reused": result.reused,
                "engine_runs": result.n_runs,
            }
        )
    return rows
