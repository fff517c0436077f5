import json

import numpy as np

from lpsflow.store import LabelStore, frame_key

PHYS = {"engine": "cp2k", "cutoff": 250}


def test_key_ignores_noise_below_rounding(li3ps4_8):
    noisy = li3ps4_8.copy()
    noisy.positions += 1e-8
    assert frame_key(li3ps4_8, PHYS) == frame_key(noisy, PHYS)


def test_key_changes_with_frame_and_settings(li3ps4_8):
    moved = li3ps4_8.copy()
    moved.positions[0, 0] += 1e-3
    keys = {
        frame_key(li3ps4_8, PHYS),
        frame_key(moved, PHYS),
        frame_key(li3ps4_8, {**PHYS, "cutoff": 400}),
    }
    assert len(keys) == 3


def test_commit_is_atomic_and_first_wins(tmp_path):
    store = LabelStore(tmp_path)
    key = "ab" + "0" * 62
    assert store.record(key) is None
    first = store.new_workdir(key)
    (first / "marker").write_text("first")
    second = store.new_workdir(key)
    (second / "marker").write_text("second")
    store.commit(key, first, {"status": "ok"})
    store.commit(key, second, {"status": "failed"})
    assert store.record(key) == {"status": "ok"}
    assert (store.entry(key) / "marker").read_text() == "first"
    assert not second.exists()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_replace_overwrites_failed(tmp_path):
    store = LabelStore(tmp_path)
    key = "cd" + "1" * 62
    store.commit(key, store.new_workdir(key), {"status": "failed"})
    store.commit(key, store.new_workdir(key), {"status": "ok"}, replace=True)
    assert json.loads((store.entry(key) / "record.json").read_text())["status"] == "ok"
    assert np.all([p.name.startswith(key) is False for p in (tmp_path / "tmp").iterdir()])
