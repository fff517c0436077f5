"""Equation-of-state check: teacher and DP pressures against a finite difference of the energy."""

from __future__ import annotations

import argparse

import pytest
from ase import Atoms, units
from ase.io import write
from conftest import lj_cell

from lpsflow.eos_check import (
    exploration_pressures,
    frame_argument,
    kinetic_pressure,
    model_pressures,
    teacher_pressure,
)


def _static_pressure_fd(atoms: Atoms, energy, eps: float = 1e-4) -> float:
    """-dE/dV (GPa) by scaling the cell isotropically by (1 +- eps), atoms with it."""
    e = []
    vols = []
    for s in (1 - eps, 1 + eps):
        a = atoms.copy()
        a.set_cell(atoms.cell.array * s, scale_atoms=True)
        e.append(energy(a))
        vols.append(a.get_volume())
    return -(e[1] - e[0]) / (vols[1] - vols[0]) / units.GPa


def _lj_cell():
    return lj_cell(spacing=2.4, noise=0.1, seed=3)


def test_teacher_pressure_is_minus_de_dv_plus_kinetic():
    atoms, calc = _lj_cell()

    def energy(a):
        a.calc = calc
        return a.get_potential_energy()

    static = _static_pressure_fd(atoms, energy)
    assert abs(static) > 0.01  # a pressure worth checking the sign of
    p = teacher_pressure(atoms, calc, 600.0)
    assert p == pytest.approx(static + kinetic_pressure(atoms, 600.0), rel=1e-3)
    assert kinetic_pressure(atoms, 600.0) == pytest.approx(
        27 * units.kB * 600 / atoms.get_volume() / units.GPa
    )


@pytest.mark.slow
def test_model_pressure_is_minus_de_dv_plus_kinetic(local_campaign):
    """DeePMD's virial sign: each model's pressure equals -dE/dV of its own energy."""
    import dpdata
    from deepmd.infer import DeepPot

    data = sorted((local_campaign / "results/iter_001/data/train").glob("**/type_map.raw"))[0]
    atoms = dpdata.LabeledSystem(str(data.parent), fmt="deepmd/npy").to("ase/structure")[0]
    type_map = ["Li", "P", "S"]
    graphs = sorted(str(p) for p in local_campaign.glob("results/iter_001/train/model_*/graph.pb"))
    pressures = model_pressures(atoms, graphs, type_map, 300.0)
    assert len(pressures) == len(graphs)
    for graph, p in zip(graphs, pressures, strict=True):
        dp = DeepPot(graph)

        def energy(a, dp=dp):
            types = [type_map.index(s) for s in a.get_chemical_symbols()]
            return float(
                dp.eval(a.positions.reshape(1, -1), a.cell.array.reshape(1, -1), types)[0].sum()
            )

        static = _static_pressure_fd(atoms, energy)
        assert abs(static) > 0.05  # large enough that a flipped sign would show
        fd = static + kinetic_pressure(atoms, 300.0)
        assert p == pytest.approx(fd, abs=0.02 * max(1.0, abs(fd)))


def test_exploration_pressures_only_npt_jobs(monkeypatch):
    """Rows only for frames of NPT jobs (no made-up rows), at each job's final temperature;
    DP pressures of two copies of the same LJ 'ensemble' member."""
    atoms, calc = _lj_cell()
    frames = [("A", 0, atoms), ("A", 1, atoms), ("B", 1, atoms)]
    schedule = [
        {"ensemble": "nvt", "temperature": 600},
        {"ensemble": "npt", "temperature": 900, "pressures": [1.0]},
    ]
    monkeypatch.setattr(  # each 'member' gives the teacher's pressure
        "lpsflow.eos_check.model_pressures",
        lambda a, graphs, tm, t: [teacher_pressure(a, calc, t)] * len(graphs),
    )
    table = exploration_pressures(frames, ["m0", "m1"], schedule, calc, ["Ar"])
    assert list(table["composition"]) == ["A", "B"] and set(table["job"]) == {1}
    assert (table["temperature_K"] == 900).all() and (table["density_g_cm3"] > 0).all()
    assert table["p_dp_GPa"].tolist() == pytest.approx(table["p_teacher_GPa"].tolist())


def test_a_frame_says_what_it_is_or_is_named(tmp_path):
    atoms, _ = _lj_cell()
    plain = tmp_path / "plain.extxyz"
    write(plain, atoms)
    labelled = atoms.copy()
    labelled.info.update(composition="LPS70", explore_job=3)
    write(tmp_path / "final.extxyz", labelled)
    comp, job, frame = frame_argument(str(tmp_path / "final.extxyz"))
    assert (comp, job, len(frame)) == ("LPS70", 3, len(atoms))
    assert frame_argument(f"LPS75:2={plain}")[:2] == ("LPS75", 2)
    with pytest.raises(argparse.ArgumentTypeError, match="COMP:J=PATH"):
        frame_argument(str(plain))
