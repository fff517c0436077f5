"""Teacher engine (dft.engine: mlip): units, virial sign, failures, store key."""

from __future__ import annotations

import re

import dpdata
import numpy as np
import pytest
from conftest import shipped

from lpsflow.dft import SetupError, get_engine
from lpsflow.dft.mlip import MODELS, Mlip, load_calculator, to_system
from lpsflow.labeling import label_batch
from lpsflow.store import LabelStore, frame_key

chgnet = pytest.importorskip("chgnet", reason="teacher extra missing: pip install '.[teacher]'")

#: D3(BJ) with simple-dftd3's PBE parameters (two-body)
D3BJ_PBE = {"damping": "d3bj", "method": "PBE"}


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
    # D3 enters the key; without it the key is what it was before D3 existed
    with_d3 = Mlip({"model": "chgnet-0.3.0", "teacher_dispersion": D3BJ_PBE})
    assert with_d3.physics()["dispersion"] == {
        "damping": "d3bj",
        "method": "PBE",
        "parameters": {},
    }
    assert frame_key(li3ps4_8, with_d3.physics()) != frame_key(li3ps4_8, teacher.physics())


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
    from lpsflow.aimd import aimd_frames, last_frame
    from lpsflow.dft.base import AimdSettings

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

    from lpsflow.dft.base import AimdSettings
    from lpsflow.dft.mlip import teacher_md_frames

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


# ---- teacher options (issue 24): models whose weights ship in their wheels, and D3 ----
def test_every_model_loads_offline_and_labels_a_crystal(tmp_path, monkeypatch):
    """Each teacher in MODELS loads from its wheel with no network and labels 1 unit cell of
    beta-Li3PS4 (32 atoms) with finite energy (a few eV/atom below zero), forces, virial."""
    import socket

    from ase.io import read

    from lpsflow.crystals import path

    pytest.importorskip("sevenn", reason="teacher extra missing: pip install '.[teacher]'")

    def no_network(*args, **kwargs):
        raise OSError("network access during a teacher load")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    crystal = read(path("beta-Li3PS4"))
    assert set(MODELS) >= {"chgnet-0.3.0", "sevennet-0", "sevennet-mf-0-pbe"}
    energies = {}
    for model in MODELS:
        engine = get_engine("mlip", {"model": model}, threads=1)
        outcome = engine.run(crystal, tmp_path / model, 0)
        assert outcome.ok, (model, outcome.reason)
        label = outcome.system
        for key in ("energies", "forces", "virials"):
            assert np.all(np.isfinite(label[key])), (model, key)
        assert -8 < label["energies"][0] / len(crystal) < -1, model
        assert np.abs(label["virials"][0]).max() > 1e-3, model  # a stress, not zeros
        energies[model] = label["energies"][0]
    # the fidelities of the multi-fidelity model are different theories
    assert energies["sevennet-mf-0-pbe"] != pytest.approx(energies["sevennet-mf-0-r2scan"])


def test_theory_names_the_teacher():
    from lpsflow.importing import canonical_theory, engine_theory, theory_label

    assert theory_label(Mlip({"model": "chgnet-0.3.0"}).theory()) == "CHGNet 0.3.0"
    d3 = Mlip({"model": "chgnet-0.3.0", "teacher_dispersion": D3BJ_PBE}).theory()
    assert theory_label(d3) == "CHGNet 0.3.0+D3(BJ, PBE parameters)"
    mf = Mlip({"model": "sevennet-mf-0-r2scan"}).theory()
    assert theory_label(mf) == "SevenNet MF_0 (R2SCAN)"
    explicit = {"damping": "d3zero", "method": "", "parameters": {"s8": 0.722, "rs6": 1.217}}
    zero = Mlip({"model": "sevennet-0", "teacher_dispersion": explicit}).theory()
    assert theory_label(zero) == "SevenNet 0_11Jul2024+D3(0, rs6=1.217,s8=0.722)"
    # the workflow's theory comes from the engine dft.engine selects, not from CP2K's keys
    dft = {"engine": "mlip", "model": "chgnet-0.3.0", "functional": "PBE", "dispersion": "D3"}
    assert engine_theory(dft) == canonical_theory(Mlip(dft).theory())
    assert "PBE" not in theory_label(engine_theory(dft))


@pytest.mark.parametrize(
    "dispersion, key",
    [
        ({"damping": "d4"}, "dft.teacher_dispersion.damping"),
        ({"damping": "d3bj", "method": ""}, "dft.teacher_dispersion"),
        ({"damping": "d3bj", "method": "PBE", "parameters": {"s8": 1.0}}, "dft.teacher_dispersion"),
        ({"damping": "d3bj", "method": "", "parameters": {"s8": 1.0}}, "parameters"),
        ({"damping": "d3zero", "method": "", "parameters": {"s8": 1, "rs6": 1, "a1": 0.4}}, "a1"),
    ],
)
def test_bad_dispersion_settings_name_the_key(dispersion, key):
    with pytest.raises(SetupError, match=key.replace(".", r"\.")):
        Mlip({"model": "chgnet-0.3.0", "teacher_dispersion": dispersion})


def test_schema_rejects_bad_teacher_options():
    """The workflow's schema refuses bad teacher options, naming the key."""
    from conftest import validated
    from snakemake.exceptions import WorkflowError

    base = {"compositions": [{"name": "a", "x": 0.75, "n_atoms": 16}]}
    good = validated({**base, "dft": {"engine": "mlip", "teacher_dispersion": D3BJ_PBE}})
    assert good["dft"]["teacher_dispersion"]["parameters"] == {}
    bad = [
        ({"model": "mace-mp-0"}, "['model']"),
        ({"teacher_dispersion": {"damping": "d4"}}, "['teacher_dispersion']['damping']"),
        (
            {"teacher_dispersion": {"damping": "d3bj", "parameters": {"q": 1.0}}},
            "['teacher_dispersion']['parameters']",
        ),
        (  # explicit parameters and the default method: one of them only
            {"teacher_dispersion": {"damping": "d3bj", "parameters": {"s8": 0.8}}},
            "['teacher_dispersion']['method']",
        ),
    ]
    for dft, key in bad:
        with pytest.raises(WorkflowError, match=re.escape(f"instance['dft']{key}")):
            validated({**base, "dft": {"engine": "mlip", **dft}})


@pytest.fixture(scope="module")
def crystal16():
    """beta-Li3PS4, one unit cell (32 atoms), slightly disordered so that forces are not 0."""
    from ase.io import read

    from lpsflow.crystals import path

    atoms = read(path("beta-Li3PS4"))
    atoms.positions += np.random.default_rng(0).normal(0, 0.03, atoms.positions.shape)
    return atoms


def _strained(atoms, component, eps):
    """``atoms`` under the symmetric strain eps on one Voigt component (0-5)."""
    strain = np.zeros((3, 3))
    i, j = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)][component]
    strain[i, j] += eps / (1 if i == j else 2)
    strain[j, i] += 0 if i == j else eps / 2
    out = atoms.copy()
    out.set_cell(atoms.cell @ (np.eye(3) + strain), scale_atoms=True)
    return out


def _fd_stress(atoms, calc, component, h):
    """(1/V) dE/d(strain) by central differences (eV/A^3), the ASE stress convention."""
    energies = []
    for eps in (-h, h):
        strained = _strained(atoms, component, eps)
        strained.calc = calc
        energies.append(strained.get_potential_energy())
    return (energies[1] - energies[0]) / (2 * h) / atoms.get_volume()


def test_d3_lowers_the_energy_and_its_stress_matches_finite_differences(crystal16):
    """D3 alone: a negative energy, and an analytic stress equal to the finite-difference
    derivative of the energy with respect to strain (normal and shear components)."""
    from lpsflow.dft.mlip import d3_calculator, dispersion_settings

    d3 = d3_calculator(dispersion_settings({"teacher_dispersion": D3BJ_PBE}))
    atoms = crystal16.copy()
    atoms.calc = d3
    energy = atoms.get_potential_energy()
    assert energy / len(atoms) < -0.05  # eV/atom: attractive, tenths of an eV per PS4 unit
    stress = atoms.get_stress(voigt=True)
    # attraction: the energy rises on expansion, dE/d(strain) > 0, so the ASE stress (positive
    # = tension) is positive and D3 shrinks the cell
    assert stress[:3].min() > 0
    for component in (0, 2, 5):
        fd = _fd_stress(crystal16, d3, component, 1e-4)
        # abs: 1e-6 eV/A^3 = 0.16 MPa, what the real-space cutoff's truncation leaves
        assert stress[component] == pytest.approx(fd, rel=1e-3, abs=1e-6), component


def test_teacher_with_d3_is_model_plus_d3_and_stress_is_consistent(tmp_path, crystal16):
    """The combined calculator of the engine: energy, forces and stress are the model's plus
    D3's, and its stress matches finite differences of its energy."""
    from lpsflow.dft.mlip import d3_calculator, dispersion_settings

    alone = get_engine("mlip", {"model": "chgnet-0.3.0"})
    both = get_engine("mlip", {"model": "chgnet-0.3.0", "teacher_dispersion": D3BJ_PBE})
    d3 = crystal16.copy()
    d3.calc = d3_calculator(dispersion_settings({"teacher_dispersion": D3BJ_PBE}))
    a = alone.run(crystal16, tmp_path / "a", 0).system
    b = both.run(crystal16, tmp_path / "b", 0).system
    assert b["energies"][0] - a["energies"][0] == pytest.approx(d3.get_potential_energy(), abs=1e-4)
    assert b["energies"][0] < a["energies"][0]
    assert np.allclose(b["forces"][0] - a["forces"][0], d3.get_forces(), atol=1e-4)
    d3_virial = -d3.get_stress(voigt=False) * d3.get_volume()
    assert np.allclose(b["virials"][0] - a["virials"][0], d3_virial, atol=1e-3)
    calc = both.calculator
    stress = -b["virials"][0] / crystal16.get_volume()  # back to the ASE stress, eV/A^3
    for component, (i, j) in ((0, (0, 0)), (2, (2, 2))):
        fd = _fd_stress(crystal16, calc, component, 2e-3)
        assert abs(stress[i, j]) > 1e-3  # a stress the comparison can see
        # CHGNet runs in float32: finite differences of its energy carry ~1e-5 eV noise
        assert stress[i, j] == pytest.approx(fd, rel=0.03, abs=2e-4), component
