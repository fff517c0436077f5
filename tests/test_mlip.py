"""Teacher engine (dft.engine: mlip): units, virial sign, failures, store key."""

from __future__ import annotations

import dpdata
import numpy as np
import pytest
from conftest import shipped

from lpsflow.dft import SetupError, get_engine
from lpsflow.dft.mlip import MODELS, Mlip, load_calculator, to_system
from lpsflow.labeling import label_batch
from lpsflow.store import LabelStore, frame_key

chgnet = pytest.importorskip("chgnet", reason="teacher extra missing: pip install '.[teacher]'")


@pytest.fixture(scope="module")
def teacher():
    """The CHGNet 0.3.0 engine, loaded once for the module (one torch thread)."""
    return get_engine("mlip", {"model": "chgnet-0.3.0"}, threads=1)


def test_label_units_match_ase_calculator(tmp_path, teacher, li3ps4_8):
    outcome = teacher.run(li3ps4_8, tmp_path / "a", 0)
    assert outcome.ok, outcome.reason
    label = outcome.system
    ref = li3ps4_8.copy()
    ref.calc = teacher.calculator
    assert label["energies"][0] == pytest.approx(ref.get_potential_energy(), abs=1e-5)  # eV
    assert np.allclose(label["forces"][0], ref.get_forces(), atol=1e-5)  # eV/angstrom
    # deepmd virial (eV) = -ASE stress (eV/A^3, positive = tension) x volume
    full = -ref.get_stress(voigt=False) * ref.get_volume()
    assert np.allclose(label["virials"][0], full, atol=1e-5)
    assert np.allclose(label["coords"][0], li3ps4_8.positions)
    assert label.get_atom_names() == ["P", "S", "Li"]
    # energies of an LPS cell are a few eV per atom below zero, not hartree or kJ/mol
    assert -8 < label["energies"][0] / len(li3ps4_8) < -1


def test_virial_matches_finite_difference_of_energy(tmp_path, teacher, li3ps4_8):
    """-dE/d(strain) for an isotropic strain equals the trace of the virial (as for CP2K)."""
    h = 0.002
    energies = []
    for eps in (-h, h):
        strained = li3ps4_8.copy()
        strained.set_cell(li3ps4_8.cell * (1 + eps), scale_atoms=True)
        outcome = teacher.run(strained, tmp_path / f"e{eps}", 0)
        assert outcome.ok, outcome.reason
        energies.append(outcome.system["energies"][0])
    d_e = (energies[1] - energies[0]) / (2 * h)
    virial = teacher.run(li3ps4_8, tmp_path / "v", 0).system["virials"][0]
    assert abs(np.trace(virial)) > 0.1, "zero virial: the test could not see a sign error"
    assert -d_e == pytest.approx(np.trace(virial), rel=0.03, abs=0.05)


def test_store_key_holds_teacher_name_and_version(li3ps4_8, cheap_dft):
    teacher = Mlip({"model": "chgnet-0.3.0"})
    assert teacher.physics() == {"engine": "mlip", "model": "chgnet", "model_version": "0.3.0"}
    cp2k = get_engine("cp2k", cheap_dft)
    assert frame_key(li3ps4_8, teacher.physics()) != frame_key(li3ps4_8, cp2k.physics())
    other = {**teacher.physics(), "model_version": "0.2.0"}
    assert frame_key(li3ps4_8, teacher.physics()) != frame_key(li3ps4_8, other)
    assert set(MODELS) == {"chgnet-0.3.0"}


class _Broken:
    """An ASE-like calculator that fails in chosen ways (exception or NaN)."""

    implemented_properties = ("energy", "forces", "stress")

    def __init__(self, mode):
        self.mode = mode

    def get_potential_energy(self, atoms=None, force_consistent=False):
        if self.mode == "raise":
            raise RuntimeError("graph has no bonds")
        return float("nan") if self.mode == "nan_energy" else -1.0

    def get_forces(self, atoms=None):
        forces = np.zeros((len(atoms), 3))
        if self.mode == "inf_force":
            forces[0, 0] = np.inf
        return forces

    def get_stress(self, atoms=None, voigt=True):
        return np.zeros(6)


@pytest.mark.parametrize(
    "mode, reason",
    [("raise", "crash: RuntimeError"), ("nan_energy", "non_finite"), ("inf_force", "non_finite")],
)
def test_failures_are_recorded_not_raised(tmp_path, li3ps4_8, mode, reason):
    engine = Mlip({"model": "chgnet-0.3.0"}, calculator=_Broken(mode))
    store = LabelStore(tmp_path / "store")
    rows = label_batch([li3ps4_8, li3ps4_8.copy()], engine, store, max_attempts=2)
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert rows[0]["reason"].startswith(reason)
    assert rows[0]["engine_runs"] == 2
    # a crash may be transient: the same frame is tried again (issue 15); a non-finite
    # result is a property of the frame and model, so the stored failure is reused
    assert rows[1]["reused"] == (not reason.startswith("crash"))
    record = store.record(rows[0]["key"])
    assert record["engine"] == "mlip" and record["physics"]["model_version"] == "0.3.0"


def test_labels_through_store_and_reuses(tmp_path, teacher, li3ps4_8):
    store = LabelStore(tmp_path / "store")
    first = label_batch([li3ps4_8], teacher, store)
    again = label_batch([li3ps4_8], teacher, store)
    assert first[0]["status"] == "ok" and not first[0]["reused"]
    assert again[0]["reused"] and again[0]["engine_runs"] == 0
    assert store.verify(first[0]["key"])


def test_unknown_or_unloadable_model_is_setup_error(monkeypatch):
    with pytest.raises(SetupError, match="dft.model"):
        get_engine("mlip", {"model": "mace-mp-0"})
    import chgnet.model

    def fail(*args, **kwargs):
        raise FileNotFoundError("weights missing")

    monkeypatch.setattr(chgnet.model.CHGNet, "load", fail)
    with pytest.raises(SetupError, match="cannot be loaded"):
        load_calculator("chgnet-0.3.0")


def test_to_system_virial_sign():
    from ase import Atoms

    atoms = Atoms("Li2", positions=[[0, 0, 0], [1.5, 1.5, 1.5]], cell=[3, 3, 3], pbc=True)
    tension = np.array([0.01, 0.01, 0.01, 0, 0, 0])  # eV/A^3, positive = tension
    system = to_system(atoms, -3.0, np.zeros((2, 3)), tension)
    assert np.allclose(np.diag(system["virials"][0]), -0.01 * 27.0)


def test_teacher_md_initial_data_enter_the_store(tmp_path, teacher, li3ps4_8):
    """init.method aimd with the teacher: every n-th frame of its own MD, labelled by it,
    keyed as a single point of the same frame would be (a later request is served)."""
    from lpsflow.aimd import AimdSettings, aimd_frames, last_frame

    store = LabelStore(tmp_path / "store")
    md = AimdSettings(steps=4, every=2, temperature=600, seed=3)
    settings = {"engine": "mlip", "model": "chgnet-0.3.0"}
    frames, run = aimd_frames(li3ps4_8, settings, md, store)
    assert [f["step"] for f in frames] == [0, 2, 4]
    assert run["status"] == "complete" and not run["reused"]
    assert all(f["status"] == "ok" for f in frames)
    coords = []
    for frame in frames:  # every frame's label is the teacher's single point of its coords
        label = dpdata.LabeledSystem(str(store.label_path(frame["key"])), fmt="deepmd/npy")
        snap = li3ps4_8.copy()
        snap.positions = label["coords"][0]
        assert frame_key(snap, teacher.physics()) == frame["key"]
        single = teacher.run(snap, tmp_path / f"sp{frame['step']}", 0).system
        assert np.allclose(single["energies"], label["energies"], atol=1e-5)
        assert np.allclose(single["forces"][0], label["forces"][0], atol=1e-5)
        assert np.allclose(single["virials"][0], label["virials"][0], atol=1e-5)
        coords.append(label["coords"][0])
    assert not np.allclose(coords[0], coords[-1])  # the MD moved the atoms
    again, run2 = aimd_frames(li3ps4_8, settings, md, store)
    assert run2["reused"] and [f["key"] for f in again] == [f["key"] for f in frames]
    # the first exploration starts from the run's last frame, not the random packing
    end = last_frame(li3ps4_8, frames, store)
    snap.wrap()
    assert end.info["aimd_step"] == 4 and np.allclose(end.positions, snap.positions)
    failed = [{**f, "status": "failed"} for f in frames]
    assert np.allclose(last_frame(li3ps4_8, failed, store).positions, li3ps4_8.positions)


def test_teacher_md_crash_keeps_frames_before(li3ps4_8):
    from ase.calculators.lj import LennardJones

    from lpsflow.aimd import AimdSettings, teacher_md_frames

    class DiesLater(LennardJones):
        calls = 0

        def calculate(self, *args, **kwargs):
            DiesLater.calls += 1
            if DiesLater.calls > 3:
                raise RuntimeError("teacher blew up")
            super().calculate(*args, **kwargs)

    md = AimdSettings(steps=10, every=1, temperature=300, seed=0)
    frames, reason = teacher_md_frames(li3ps4_8, DiesLater(sigma=2.0, epsilon=0.01, rc=5.0), md)
    assert reason.startswith("crash: RuntimeError: teacher blew up")
    assert 1 <= len(frames) < 11 and all(f["system"] is not None for f in frames)
    assert [f["step"] for f in frames] == list(range(len(frames)))


def test_teacher_labels_a_stage_in_one_job(tmp_path, li3ps4_8):
    """The teacher labels in-stage (no per-frame jobs); CP2K keeps one job per frame. The
    rows equal what per-frame jobs write: same keys, frame numbers from the files."""
    from ase.io import write

    from lpsflow.dft import labels_in_stage
    from lpsflow.labeling import label_stage
    from lpsflow.settings import Settings

    assert labels_in_stage("mlip") and not labels_in_stage("cp2k")
    frames = []
    for i in range(3):
        atoms = li3ps4_8.copy()
        atoms.positions += np.random.default_rng(i).normal(0, 0.05, atoms.positions.shape)
        atoms.info.update(composition="LPS75", index=i)
        frames.append(atoms)
    write(tmp_path / "a.extxyz", frames[:2])
    write(tmp_path / "b.extxyz", frames[2:])
    config = shipped("config.yaml")
    config["dft"].update(engine="mlip", model="chgnet-0.3.0", store=str(tmp_path / "store"))
    dft = Settings.from_config(config).dft
    rows = label_stage([str(tmp_path / "a.extxyz"), str(tmp_path / "b.extxyz")], dft)
    assert [r["frame"] for r in rows] == [0, 1, 2]
    assert all(r["status"] == "ok" and r["engine_runs"] == 1 for r in rows)
    engine = get_engine("mlip", dft.engine_settings())
    assert [r["key"] for r in rows] == [frame_key(a, engine.physics()) for a in frames]
    again = label_stage([str(tmp_path / "a.extxyz"), str(tmp_path / "b.extxyz")], dft)
    assert all(r["reused"] and r["engine_runs"] == 0 for r in again)
