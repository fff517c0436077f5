import hashlib
import shutil

import dpdata
import numpy as np
import pandas as pd
from ase.calculators.singlepoint import SinglePointCalculator

from lpsflow.dataset import build_dataset, is_test
from lpsflow.store import LabelStore


def _store_with_frames(tmp_path, atoms, n):
    store = LabelStore(tmp_path / "store")
    rows = []
    for k in range(n):
        frame = atoms.copy()
        frame.positions += 0.01 * k
        frame.calc = SinglePointCalculator(
            frame, energy=-1.0 * k, forces=np.full((len(frame), 3), 0.1 * k)
        )
        key = hashlib.sha256(f"frame{k}".encode()).hexdigest()
        work = store.new_workdir(key)
        dpdata.LabeledSystem(frame, fmt="ase/structure").to("deepmd/npy", str(work / "label"))
        store.commit(key, work, {"status": "ok"})
        rows.append({"composition": "A" if k % 2 else "B", "key": key, "status": "ok"})
    return store, pd.DataFrame(rows)


def test_split_by_hash_is_stable_and_near_fraction():
    keys = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(4000)]
    share = np.mean([is_test(k, 0.1) for k in keys])
    assert 0.08 < share < 0.12
    assert [is_test(k, 0.1) for k in keys[:50]] == [is_test(k, 0.1) for k in keys[:50]]


def test_build_dataset_separates_test_frames(tmp_path, li3ps4_8):
    store, labels = _store_with_frames(tmp_path, li3ps4_8, 24)
    labels.loc[3, "status"] = "failed"
    table = build_dataset(store, labels, ["Li", "P", "S"], 0.3, tmp_path / "data")
    assert len(table) == 23 and set(table["split"]) == {"train", "test"}
    train = dpdata.MultiSystems().from_deepmd_npy(str(tmp_path / "data" / "train"), labeled=True)
    assert train.get_nframes() == (table["split"] == "train").sum()
    n_test = sum(
        dpdata.MultiSystems().from_deepmd_npy(str(d), labeled=True).get_nframes()
        for d in (tmp_path / "data" / "test").iterdir()
    )
    assert n_test == (table["split"] == "test").sum()
    # more data later: frames keep their split
    store2, labels2 = _store_with_frames(tmp_path / "more", li3ps4_8, 40)
    table2 = build_dataset(store2, labels2, ["Li", "P", "S"], 0.3, tmp_path / "data2").set_index(
        "key"
    )
    for key, split in table.set_index("key")["split"].items():
        assert table2.loc[key, "split"] == split


def test_bad_frames_never_enter_training(tmp_path, li3ps4_8):
    store, labels = _store_with_frames(tmp_path, li3ps4_8, 6)
    # frame 4 gets a violent force, frame 3 two atoms 0.3 A apart
    for k, edit in ((4, "force"), (3, "close")):
        path = store.label_path(labels.loc[k, "key"])
        system = dpdata.LabeledSystem(str(path), fmt="deepmd/npy")
        if edit == "force":
            system.data["forces"][0, 0, 0] = 500.0
        else:
            system.data["coords"][0, 1] = system.data["coords"][0, 0] + [0.3, 0, 0]
        shutil.rmtree(path)
        system.to("deepmd/npy", str(path))
    # frame 2's label is damaged after it was stored (checksum recorded at labelling)
    key2 = labels.loc[2, "key"]
    store.commit(
        key2,
        store.new_workdir(key2),
        {"status": "ok", "checksums": {"label/type.raw": "0" * 64}},
        replace=True,
    )
    table = build_dataset(
        store, labels, ["Li", "P", "S"], 0.0, tmp_path / "d", max_force=50, min_distance=1.0
    )
    reasons = dict(zip(table["key"], table["reason"], strict=True))
    assert "force 500.0" in reasons[labels.loc[4, "key"]]
    assert "0.30 A apart" in reasons[labels.loc[3, "key"]]
    assert "checksum" in reasons[key2]
    assert (table["split"] == "train").sum() == 3
    train = dpdata.MultiSystems().from_deepmd_npy(str(tmp_path / "d" / "train"), labeled=True)
    assert train.get_nframes() == 3
