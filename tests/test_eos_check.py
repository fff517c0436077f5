"""Equation-of-state check: teacher and DP pressures against a finite difference of the energy."""

from __future__ import annotations

import pytest
from ase import Atoms, units
from conftest import lj_cell

from lpsflow.eos_check import (
    exploration_pressures,
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


@pytest.mark.slow
def test_exploration_pressures_only_npt_jobs(local_campaign):
    """The tiny campaign explores NVT only: no NPT frame, an empty table (no made-up rows)."""
    _, calc = _lj_cell()
    schedule = [{"ensemble": "nvt", "temperature": 600}]
    table = exploration_pressures(local_campaign, 1, schedule, calc, ["Li", "P", "S"])
    assert table.empty
    as_npt = [{"ensemble": "npt", "temperature": 600, "pressures": [1.0]}]
    table = exploration_pressures(local_campaign, 1, as_npt, calc, ["Li", "P", "S"])
    assert set(table["composition"]) == {"LPS75", "LPS80"}
    assert (table["temperature_K"] == 600).all() and (table["density_g_cm3"] > 0.5).all()
    assert (table["p_dp_min_GPa"] <= table["p_dp_GPa"]).all()
