"""Candidate selection from model deviation, as in DP-GEN.

Frames whose largest atomic force deviation lies in [trust_lo, trust_hi) are candidates
for DFT, below are accurate, at or above are failed (too far from the data to trust, and
usually unphysical). With ``relative`` trust levels DeePMD writes the deviation divided by
(|F| + level) and the trust levels are dimensionless.

Optional virial trust levels follow DP-GEN's ``_select_by_model_devi_standard``: a frame is
a candidate when its force *or* its virial deviation lies in its [lo, hi) window, else
failed when either reaches its hi, else accurate. A non-finite deviation (NaN or inf, force
or virial) is failed: the ensemble has left any trusted region (DP-GEN stops on NaN).

A frame with two atoms closer than the training data's ``min_distance`` is failed too,
whatever its deviation: the dataset would never train on its label (lpsflow.dataset), so
labelling it only spends DFT time. Farthest-point sampling, which starts at the largest
deviation and seeks outliers, otherwise picks exactly these collapsed frames early in a
campaign (docs/benchmarks.md, section 2).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lpsflow.evaluation import frame_features
from lpsflow.lammps_output import read_model_devi, read_trajectory
from lpsflow.loop import Verdict
from lpsflow.structures import closest_pair

ACCURATE, CANDIDATE, FAILED = "accurate", "candidate", "failed"


def classify(
    max_devi_f: np.ndarray,
    trust_lo: float,
    trust_hi: float,
    max_devi_v: np.ndarray | None = None,
    trust_lo_v: float | None = None,
    trust_hi_v: float | None = None,
) -> np.ndarray:
    """accurate / candidate / failed for each frame (a frame at ``trust_lo`` is a candidate).

    ``max_devi_v`` with ``trust_lo_v``/``trust_hi_v`` adds DP-GEN's virial criterion; without
    the levels the virial deviation only matters when it is not finite.
    """
    if not trust_lo < trust_hi:
        raise ValueError(f"trust_lo ({trust_lo}) must be below trust_hi ({trust_hi})")
    if (trust_lo_v is None) != (trust_hi_v is None):
        raise ValueError("give both trust_lo_v and trust_hi_v, or neither")
    if trust_lo_v is not None and not trust_lo_v < trust_hi_v:
        raise ValueError(f"trust_lo_v ({trust_lo_v}) must be below trust_hi_v ({trust_hi_v})")
    f = np.asarray(max_devi_f, dtype=float)
    v = np.zeros_like(f) if max_devi_v is None else np.asarray(max_devi_v, dtype=float)
    v_lo, v_hi = (np.inf, np.inf) if trust_lo_v is None else (trust_lo_v, trust_hi_v)
    with np.errstate(invalid="ignore"):
        candidate = ((f >= trust_lo) & (f < trust_hi)) | ((v >= v_lo) & (v < v_hi))
        failed = (f >= trust_hi) | (v >= v_hi)
    out = np.where(candidate, CANDIDATE, np.where(failed, FAILED, ACCURATE))
    return np.where(np.isfinite(f) & np.isfinite(v), out, FAILED)


def farthest_points(features: np.ndarray, k: int, start: int = 0) -> list[int]:
    """Indices of ``k`` rows chosen by farthest-point sampling, beginning at ``start``."""
    n = len(features)
    if k >= n:
        return list(range(n))
    chosen = [start]
    dist = np.linalg.norm(features - features[start], axis=1)
    while len(chosen) < k:
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(features - features[nxt], axis=1))
    return chosen


def pick(
    deviation: np.ndarray,
    k: int,
    method: str,
    rng: np.random.Generator,
    features: np.ndarray | None = None,
) -> list[int]:
    """Choose up to ``k`` of the candidate frames (indices into ``deviation``).

    ``fps``: farthest-point sampling on ``features`` starting from the largest deviation;
    ``random`` and ``random_all`` (whose pool is every explored frame): uniform without
    replacement.
    """
    n = len(deviation)
    if n <= k:
        return list(range(n))
    if method in ("random", "random_all"):
        return sorted(int(i) for i in rng.choice(n, size=k, replace=False))
    if method == "fps":
        return sorted(farthest_points(features, k, start=int(np.argmax(deviation))))
    raise ValueError(f"unknown selection method {method!r}")


def ratios(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Counts and fractions of accurate, candidate and failed frames grouped by ``by``, and
    (if ``table`` has the column) how many of the failed ones are ``too_close``."""
    counts = table.groupby(by)["class"].value_counts().unstack(fill_value=0)
    counts = counts.reindex(columns=[ACCURATE, CANDIDATE, FAILED], fill_value=0)
    total = counts.sum(axis=1)
    out = counts.copy()
    out["frames"] = total
    for col in (ACCURATE, CANDIDATE, FAILED):
        out[f"{col}_ratio"] = counts[col] / total.where(total > 0)
    if "too_close" in table:
        out["too_close"] = table.groupby(by)["too_close"].sum().astype(int)
    return out.reset_index()


def loop_status(per_composition: pd.DataFrame, accurate_ratio: float, n_selected: int) -> str:
    """``converged`` when every composition is accurate enough or nothing is left to label
    and nothing failed; ``stalled`` when no candidate exists but frames failed (labelling
    cannot improve the model: lower trust_lo or raise trust_hi); else ``continue``."""
    accurate = per_composition["accurate_ratio"].fillna(0.0)
    if len(per_composition) and (accurate >= accurate_ratio).all():
        return "converged"
    if n_selected == 0:
        failed = per_composition.get("failed", pd.Series(dtype=float)).sum()
        return "stalled" if failed > 0 else "converged"
    return "continue"


def explored_frames(model_devi: str | Path, dump: str | Path, type_map: list[str]):
    """(table, frames) of one exploration job: deviation rows aligned with dumped frames."""
    table = read_model_devi(model_devi)
    frames = read_trajectory(Path(dump), type_map)
    n = min(len(table), len(frames))  # equal unless the run was cut short
    return table.iloc[:n].reset_index(drop=True), frames[:n]


def select_iteration(
    runs: list[dict],
    graph: str,
    type_map: list[str],
    settings,
    accurate_ratio: float,
    min_distance: float = 0.0,
):
    """Classify every explored frame and choose each composition's candidates.

    ``runs``: one dict per exploration job with composition, job, temperature, devi, traj
    and optionally status (the job's status.json from :func:`lpsflow.exploration.check_run`:
    records an MD run that went wrong did not write count as failed frames, with
    ``max_devi_f`` NaN). ``settings``: :class:`lpsflow.settings.SelectSettings`.
    Returns (frames table, candidate Atoms list, ratios table, :class:`lpsflow.loop.Verdict`,
    which lists the exploration runs that went wrong in ``md_failures``).
    ``min_distance`` (angstrom; the dataset's ``train.min_distance``): frames with two atoms
    closer are failed and never labelled (column ``too_close`` of the frames table).
    """
    rng = np.random.default_rng(settings.seed)
    rows, pool, md_failures = [], {}, []
    for run in runs:
        status = json.loads(Path(run["status"]).read_text()) if run.get("status") else {}
        if status.get("status", "ok") != "ok":
            md_failures.append(
                {
                    "composition": run["composition"],
                    "job": run["job"],
                    "reason": status["reason"],
                    "records": status["records"],
                    "expected": status["expected"],
                    "restart": status.get("restart", ""),
                }
            )
            for k in range(status["records"], status["expected"]):
                rows.append(
                    {
                        "composition": run["composition"],
                        "job": run["job"],
                        "temperature": run["temperature"],
                        "step": k * status.get("out_freq", 1),
                        "max_devi_f": float("nan"),
                        "class": FAILED,
                        "too_close": False,
                    }
                )
        table, frames = explored_frames(run["devi"], run["traj"], type_map)
        classes = classify(
            table["max_devi_f"],
            settings.trust_lo,
            settings.trust_hi,
            table["max_devi_v"] if "max_devi_v" in table else None,
            settings.trust_lo_v,
            settings.trust_hi_v,
        )
        for idx, (step, devi, cls) in enumerate(
            zip(table["step"], table["max_devi_f"], classes, strict=True)
        ):
            too_close = closest_pair(frames[idx], min_distance) < min_distance
            cls = FAILED if too_close else cls
            rows.append(
                {
                    "composition": run["composition"],
                    "job": run["job"],
                    "temperature": run["temperature"],
                    "step": int(step),
                    "max_devi_f": float(devi),
                    "class": cls,
                    "too_close": too_close,
                }
            )
            if cls == CANDIDATE or (
                settings.method == "random_all" and np.isfinite(devi) and not too_close
            ):
                frame = frames[idx]
                frame.info.update(
                    composition=run["composition"],
                    job=run["job"],
                    step=int(step),
                    max_devi_f=float(devi),
                )
                pool.setdefault(run["composition"], []).append(frame)
    frames_table = pd.DataFrame(
        rows,
        columns=["composition", "job", "temperature", "step", "max_devi_f", "class", "too_close"],
    )
    chosen = []
    for frames in pool.values():
        devi = np.array([f.info["max_devi_f"] for f in frames])
        k = settings.max_per_composition
        features = (
            frame_features(graph, frames, type_map)
            if settings.method == "fps" and len(frames) > k
            else None
        )
        chosen += [frames[i] for i in pick(devi, k, settings.method, rng, features)]
    for index, frame in enumerate(chosen):
        frame.info["index"] = index
    by_temp = (
        ratios(frames_table, ["composition", "job", "temperature"]) if rows else pd.DataFrame()
    )
    per_comp = (
        ratios(frames_table, ["composition"])
        if rows
        else pd.DataFrame(columns=["composition", "accurate_ratio"])
    )
    per_comp["job"] = "all"
    table = pd.concat([by_temp, per_comp], ignore_index=True)
    status = loop_status(per_comp, accurate_ratio, len(chosen))
    verdict = Verdict(
        status,
        len(chosen),
        dict(zip(per_comp["composition"], per_comp["accurate_ratio"].astype(float), strict=True)),
        md_failures,
    )
    return frames_table, chosen, table, verdict
