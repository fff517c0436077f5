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
