"""Training data: labelled frames gathered from the store into deepmd/npy."""

from __future__ import annotations

from pathlib import Path

import dpdata

from lpsflow.store import LabelStore


def gather(store: LabelStore, keys: list[str], type_map: list[str]) -> dpdata.MultiSystems:
    """All labelled (status ok) frames of ``keys`` as one MultiSystems with ``type_map``."""
    systems = dpdata.MultiSystems(type_map=type_map)
    for key in dict.fromkeys(keys):  # unique, order kept
        record = store.record(key)
        if record is None or record["status"] != "ok":
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


def build_dataset(
    store: LabelStore, labels, type_map: list[str], test_fraction: float, out
) -> dict:
    """Training set ``out/train`` and per-composition test sets ``out/test/<comp>``.

    ``labels`` is a table (pandas) with columns composition, key, status; labelled frames
    are split by :func:`is_test`. Returns the table of used frames with their split.
    """
    import pandas as pd

    out = Path(out)
    ok = labels[labels["status"] == "ok"].drop_duplicates("key").copy()
    ok["split"] = ["test" if is_test(k, test_fraction) else "train" for k in ok["key"]]
    write_deepmd(
        gather(store, list(ok.loc[ok["split"] == "train", "key"]), type_map), out / "train"
    )
    for comp, group in ok[ok["split"] == "test"].groupby("composition"):
        write_deepmd(gather(store, list(group["key"]), type_map), out / "test" / str(comp))
    (out / "test").mkdir(parents=True, exist_ok=True)
    return pd.DataFrame(ok[["composition", "key", "split"]])
