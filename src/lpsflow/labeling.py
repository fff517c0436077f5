"""Label frames through the store: reuse what exists, run the engine for the rest.

Two kinds of failure (see :mod:`lpsflow.dft`):

- a failure of the *frame* (SCF not converged, crash, time limit, unparsable output) is
  retried with the engine's robust settings up to ``max_attempts``; a frame that still
  fails is stored as failed with its reason, the settings strategy and the program version
  it failed under, and never stops the batch by itself;
- a failure of the *setup* (:class:`lpsflow.dft.SetupError`) stops the batch at once and
  is never stored.

A stored failure is final unless :func:`retry_reason` finds a reason to label the frame
again: ``retry_failed``, a crash-kind failure (possibly transient), or a change of the
strategy (SCF settings, time limit, attempts) or of the program version since it failed.

Too many failed frames are themselves a sign of a broken setup: :func:`check_failures`
raises :class:`TooManyFailures` when more than ``max_failed_fraction`` of a stage's frames
failed (DP-GEN's ``ratio_failed``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ase import Atoms
from ase.io import write

from lpsflow.dft import Engine, SetupError, failure_kind, get_engine
from lpsflow.store import LabelStore, checksums, frame_key

log = logging.getLogger(__name__)


class TooManyFailures(RuntimeError):
    """More frames failed than ``dft.max_failed_fraction`` allows."""


@dataclass
class LabelResult:
    key: str
    status: str  # "ok" or "failed"
    reason: str
    reused: bool
    n_runs: int  # engine runs made now (0 when reused)


def strategy_digest(engine: Engine, max_attempts: int) -> str:
    """Digest of what decides whether a frame fails without changing its label."""
    strategy = getattr(engine, "strategy", dict)() or {}
    payload = json.dumps({**strategy, "max_attempts": max_attempts}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def retry_reason(
    record: dict, strategy: str, version: Callable[[], str], retry_failed: bool = False
) -> str:
    """Why a stored failure is labelled again now, or "" if it stays final.

    ``version`` is called only when needed (asking a program its version costs a start).
    """
    if retry_failed:
        return "dft.retry_failed is set"
    if failure_kind(record.get("reason", "")) == "crash":
        return f"the last run crashed ({record.get('reason', '')})"
    if record.get("strategy") != strategy:
        return "SCF strategy, time limit or attempts changed since it failed"
    old = record.get("program_version", "")
    new = version()
    if new and old != new:
        return f"program version changed ({old or 'unknown'} -> {new})"
    return ""


def label_frame(
    atoms: Atoms,
    engine: Engine,
    store: LabelStore,
    max_attempts: int = 2,
    retry_failed: bool = False,
) -> LabelResult:
    """Label one frame, or return its stored label.

    Raises :class:`lpsflow.dft.SetupError` (nothing stored) when the engine finds the
    setup broken.
    """
    key = frame_key(atoms, engine.physics())
    strategy = strategy_digest(engine, max_attempts)
    old = store.record(key)
    if old is not None and old["status"] == "ok" and not store.verify(key):
        log.warning(
            "frame %s: stored label does not match its checksums; labelling again", key[:12]
        )
        old = {**old, "status": "corrupt"}
    if old is not None and old["status"] == "ok":
        return LabelResult(key, "ok", "", True, 0)
    if old is not None and old["status"] == "failed":
        why = retry_reason(old, strategy, getattr(engine, "version", str), retry_failed)
        if not why:
            return LabelResult(key, "failed", old.get("reason", ""), True, 0)
        log.info("frame %s: stored failure %r retried: %s", key[:12], old.get("reason"), why)
    work = store.new_workdir(key)
    write(work / "frame.extxyz", atoms, format="extxyz")
    attempts = []
    outcome = None
    for attempt in range(max_attempts):
        try:
            outcome = engine.run(atoms, work / f"attempt_{attempt}", attempt)
        except SetupError:
            log.error("frame %s attempt %d: setup failure; nothing stored", key[:12], attempt)
            raise
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
    versions = [a["program_version"] for a in attempts if a.get("program_version")]
    record = {
        "key": key,
        "status": "ok" if outcome.ok else "failed",
        "reason": outcome.reason,
        "kind": "" if outcome.ok else failure_kind(outcome.reason),
        "engine": engine.name,
        "physics": engine.physics(),
        "strategy": strategy,
        "strategy_settings": {
            **(getattr(engine, "strategy", dict)() or {}),
            "max_attempts": max_attempts,
        },
        "program_version": versions[-1] if versions else "",
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


def retry_stale_failures(
    rows: list[dict],
    frames: list[Atoms],
    engine: Engine,
    store: LabelStore,
    max_attempts: int = 2,
    retry_failed: bool = False,
) -> list[dict]:
    """Rows of a stage's manifests with every failed frame labelled again through
    :func:`label_frame` when its stored failure is stale (a crash, a changed SCF strategy,
    time limit, attempts or program version, or ``retry_failed``; see :func:`retry_reason`).

    The collecting job of a stage calls this before the failed-fraction check: the
    labelling jobs themselves do not rerun when only execution settings change (they are
    not params), so a stage that stopped at the limit is retried here after the user fixes
    the settings. ``frames``: the stage's frames (matched to rows by store key; rows of
    frames not in ``frames``, such as AIMD frames, stay as they are).
    """
    failed = {r["key"] for r in rows if r["status"] == "failed"}
    if not failed:
        return rows
    physics = engine.physics()
    by_key = {}
    for atoms in frames:
        key = frame_key(atoms, physics)
        if key in failed:
            by_key[key] = atoms
    out = []
    for row in rows:
        if row["status"] == "failed" and row["key"] in by_key:
            result = label_frame(by_key[row["key"]], engine, store, max_attempts, retry_failed)
            row = {
                **row,
                "status": result.status,
                "reason": result.reason,
                "reused": result.reused,
                "engine_runs": int(row.get("engine_runs", 0) or 0) + result.n_runs,
            }
        out.append(row)
    return out


def retry_stale_in_stage(rows: list[dict], frame_files: list[str], dft, threads: int = 1):
    """:func:`retry_stale_failures` for a stage's collecting job: the frames are read from
    ``frame_files`` and the engine built from ``dft`` (:class:`lpsflow.settings.DftSettings`).
    Raises :class:`lpsflow.dft.SetupError` when the engine cannot run."""
    from ase.io import read

    frames = [a for path in frame_files for a in read(path, index=":")]
    engine = get_engine(dft.science.engine, dft.engine_settings(), threads=threads)
    store = LabelStore(dft.execution.store)
    ex = dft.execution
    return retry_stale_failures(rows, frames, engine, store, ex.max_attempts, ex.retry_failed)


def label_stage(frame_files: list[str], dft, threads: int = 1, where: str = "labelling"):
    """Label every frame of ``frame_files`` in this job (engines that label in-stage, see
    :func:`lpsflow.dft.labels_in_stage`): the rows per-frame jobs would have written, frame
    numbers counted over the files in order. ``dft`` is :class:`lpsflow.settings.DftSettings`.
    Stops early (:class:`TooManyFailures`) once the stage's failure limit is passed."""
    from ase.io import read

    frames = [a for path in frame_files for a in read(path, index=":")]
    for index, atoms in enumerate(frames):
        atoms.info.setdefault("index", index)
    engine = get_engine(dft.science.engine, dft.engine_settings(), threads=threads)
    ex = dft.execution
    return label_batch(
        frames,
        engine,
        LabelStore(ex.store),
        ex.max_attempts,
        ex.retry_failed,
        ex.max_failed_fraction,
        where=where,
    )


def failure_limit(n_frames: int, max_failed_fraction: float) -> int:
    """Largest number of failed frames among ``n_frames`` that the limit tolerates."""
    return math.floor(max_failed_fraction * n_frames + 1e-9)


def failure_summary(reasons: list[str]) -> str:
    """``3 scf_not_converged, 1 timeout`` (reasons cut at their first colon)."""
    counts = Counter(r.split(":")[0].strip() or "unknown" for r in reasons)
    return ", ".join(f"{n} {r}" for r, n in counts.most_common())


def check_failures(
    statuses: list[str],
    reasons: list[str],
    max_failed_fraction: float,
    where: str,
    n_frames: int | None = None,
) -> None:
    """Raise :class:`TooManyFailures` if more than ``max_failed_fraction`` of the frames of
    ``where`` failed. ``n_frames`` (default: the rows given) is the size of the whole stage,
    so a job that holds part of a stage can stop as soon as the stage's limit is passed.
    """
    n = len(statuses) if n_frames is None else n_frames
    failed = [r for s, r in zip(statuses, reasons, strict=True) if s == "failed"]
    if n and len(failed) > failure_limit(n, max_failed_fraction):
        raise TooManyFailures(
            f"{where}: {len(failed)} of {n} frames failed ({len(failed) / n:.0%}), more than "
            f"dft.max_failed_fraction = {max_failed_fraction:g} allows. Reasons: "
            f"{failure_summary(failed)}. Check the DFT settings (dft.scf, dft.timeout_s, "
            f"dft.command) and the engine outputs in the store's entries; raise "
            f"dft.max_failed_fraction only if such failures are expected"
        )


def label_batch(
    frames: list[Atoms],
    engine: Engine,
    store: LabelStore,
    max_attempts: int = 2,
    retry_failed: bool = False,
    max_failed_fraction: float = 1.0,
    stage_frames: int | None = None,
    where: str = "labelling",
) -> list[dict]:
    """Label ``frames`` one after the other; one row per frame for the batch manifest.

    Stops with :class:`TooManyFailures` as soon as the failed frames of this batch alone
    exceed ``max_failed_fraction`` of ``stage_frames`` (the frames of the whole stage this
    batch belongs to; default: the batch). A :class:`SetupError` stops it at once.
    """
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
        check_failures(
            [r["status"] for r in rows],
            [r["reason"] for r in rows],
            max_failed_fraction,
            where,
            stage_frames or len(frames),
        )
    return rows
