"""Training data: labelled frames gathered from the store into deepmd/npy."""

from __future__ import annotations

from pathlib import Path

import dpdata
import numpy as np

from lpsflow.labeling import failure_summary
from lpsflow.store import LabelStore
from lpsflow.structures import closest_pair


def gather(store: LabelStore, keys: list[str], type_map: list[str]) -> dpdata.MultiSystems:
    """All labelled (status ok) frames of ``keys`` as one MultiSystems with ``type_map``."""
    systems = dpdata.MultiSystems(type_map=type_map)
    for key in dict.fromkeys(keys):  # unique, order kept
        record = store.record(key)
        if record is None or record["status"] != "ok" or not store.verify(key):
            continue
        system = dpdata.LabeledSystem(str(store.label_path(key)), fmt="deepmd/npy")
        systems.append(system)
    return systems


def write_deepmd(systems: dpdata.MultiSystems, folder: str | Path) -> int:
    """Write ``systems`` as deepmd/npy under ``folder``; returns the number of frames."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if len(systems):
        systems.to("deepmd/npy", str(folder))
    return systems.get_nframes()


def is_test(key: str, fraction: float) -> bool:
    """Held-out test frame? Decided by the label's content hash, so it never changes."""
    return int(key[:12], 16) / 16**12 < fraction


def quality_problem(system: dpdata.LabeledSystem, max_force: float, min_distance: float) -> str:
    """Why a labelled frame must not be trained on, or "" if it may.

    Non-finite energy, forces or virial; a force component above ``max_force`` (eV/A);
    two atoms closer than ``min_distance`` (angstrom).
    """
    values = [system["energies"], system["forces"], system.data.get("virials", np.zeros(1))]
    if not all(np.all(np.isfinite(v)) for v in values):
        return "non-finite energy, forces or virial"
    f_max = float(np.abs(system["forces"]).max())
    if f_max > max_force:
        return f"force {f_max:.1f} eV/A above {max_force}"
    d_min = closest_pair(system.to("ase/structure")[0], min_distance)
    if d_min < min_distance:
        return f"atoms {d_min:.2f} A apart, below {min_distance}"
    return ""


def build_dataset(
    store: LabelStore,
    labels,
    type_map: list[str],
    test_fraction: float,
    out,
    max_force: float = np.inf,
    min_distance: float = 0.0,
):
    """Training set ``out/train`` and per-composition test sets ``out/test/<comp>``.

    ``labels`` is a table (pandas) with columns composition, key, status; labelled frames
    pass :func:`quality_problem` (else ``split`` is "excluded" with the ``reason``) and are
    split by :func:`is_test`. Returns the table of frames with their split and reason.
    """
    import pandas as pd

    out = Path(out)
    ok = labels[labels["status"] == "ok"].drop_duplicates("key")
    rows, train, test = [], dpdata.MultiSystems(type_map=type_map), {}
    for comp, key in zip(ok["composition"], ok["key"], strict=True):
        if not store.verify(key):
            rows.append(
                {
                    "composition": comp,
                    "key": key,
                    "split": "excluded",
                    "reason": "label fails its checksum",
                }
            )
            continue
        system = dpdata.LabeledSystem(str(store.label_path(key)), fmt="deepmd/npy")
        reason = quality_problem(system, max_force, min_distance)
        split = "excluded" if reason else ("test" if is_test(key, test_fraction) else "train")
        rows.append({"composition": comp, "key": key, "split": split, "reason": reason})
        if split == "train":
            train.append(system)
        elif split == "test":
            test.setdefault(comp, dpdata.MultiSystems(type_map=type_map)).append(system)
    write_deepmd(train, out / "train")
    (out / "test").mkdir(parents=True, exist_ok=True)
    for comp, systems in test.items():
        write_deepmd(systems, out / "test" / str(comp))
    return pd.DataFrame(rows, columns=["composition", "key", "split", "reason"])


class NoUsableData(RuntimeError):
    """A composition has no labelled frame that may be trained or tested on."""


def check_usable(labels, table, where: dict[str, str]) -> None:
    """Raise :class:`NoUsableData` for the first composition of ``labels`` without a frame
    in the training or test split of ``table`` (from :func:`build_dataset`).

    ``where`` maps a composition to the file that lists its labels and failures (named in
    the message); the message counts the failed and excluded frames by reason.
    """

    usable = table[table["split"].isin(["train", "test"])]
    for comp in dict.fromkeys(labels["composition"]):
        if (usable["composition"] == comp).any():
            continue
        rows = labels[labels["composition"] == comp]
        failed = rows[rows["status"] != "ok"]["reason"].fillna("").astype(str)
        excluded = table[(table["composition"] == comp) & (table["split"] == "excluded")]
        parts = []
        if len(failed):
            parts.append(f"{len(failed)} failed in DFT: {failure_summary(list(failed))}")
        if len(excluded):
            why = ", ".join(f"{n} {r}" for r, n in excluded["reason"].value_counts().items())
            parts.append(f"{len(excluded)} excluded from training: {why}")
        raise NoUsableData(
            f"composition {comp}: no usable labelled frame out of {len(rows)} "
            f"({'; '.join(parts) or 'none labelled'}). See {where.get(comp, 'the label tables')}; "
            "fix the DFT settings (or train.max_force / train.min_distance) and run again"
        )
