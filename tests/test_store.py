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


def test_verify_detects_truncated_label(tmp_path, li3ps4_8):
    """A label damaged after labelling is detected and labelled again."""
    from dataclasses import dataclass

    import dpdata
    from ase.calculators.singlepoint import SinglePointCalculator

    from lpsflow.dft import Outcome
    from lpsflow.labeling import label_frame

    @dataclass
    class ConstantEngine:  # stands in for CP2K: this test is about the store's bookkeeping
        name: str = "constant"
        runs: int = 0

        def physics(self):
            return {"engine": self.name}

        def run(self, atoms, workdir, attempt):
            self.runs += 1
            labelled = atoms.copy()
            labelled.calc = SinglePointCalculator(
                labelled, energy=-1.0, forces=np.zeros((len(atoms), 3))
            )
            return Outcome(dpdata.LabeledSystem(labelled, fmt="ase/structure"))

    store, engine = LabelStore(tmp_path), ConstantEngine()
    first = label_frame(li3ps4_8, engine, store)
    assert store.verify(first.key) and engine.runs == 1
    assert label_frame(li3ps4_8, engine, store).reused and engine.runs == 1
    force = next(store.label_path(first.key).rglob("force.npy"))
    force.write_bytes(force.read_bytes()[:40])  # truncated .npy
    assert not store.verify(first.key)
    again = label_frame(li3ps4_8, engine, store)
    assert (again.reused, engine.runs) == (False, 2) and store.verify(first.key)
