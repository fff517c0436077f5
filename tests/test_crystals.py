"""Shipped crystal phases: composition, density against the published value, coordination."""

from __future__ import annotations

import numpy as np
import pytest
import spglib
from ase.io import read

from lpsflow.crystals import (
    LI2S,
    PHASES,
    Phase,
    build,
    cell_density,
    header,
    neighbour_counts,
    path,
)
from lpsflow.structures import check_structure, crystal_cell


@pytest.mark.parametrize("name", list(PHASES))
def test_shipped_file_matches_its_crystallographic_data(name):
    phase = PHASES[name]
    text = path(name).read_text()
    assert phase.reference in text and f"space group {phase.spacegroup}" in text
    assert header(phase) in text  # the file is what write_cif makes of the current data
    atoms = check_structure(path(name))  # what a composition with `structure:` runs
    assert atoms.get_chemical_formula(mode="metal") == build(phase).get_chemical_formula(
        mode="metal"
    )
    assert sorted(atoms.symbols.formula.count().items()) == sorted(
        build(phase).symbols.formula.count().items()
    )
    assert atoms.get_chemical_formula(mode="metal") == phase.formula
    assert cell_density(atoms) == pytest.approx(phase.density_g_cm3, rel=0.02)
    cell = (atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers)
    assert spglib.get_symmetry_dataset(cell, symprec=1e-3).number == phase.spacegroup


#: S and P neighbours of every P: PS4 3- (4, 0); P2S6 4- of Li4P2S6: 3 S and the P-P bond
EXPECTED_P = {"Li4P2S6": (3, 1)}


@pytest.mark.parametrize("name", list(PHASES))
def test_every_p_has_four_s(name):
    """PS4 tetrahedra (P-S about 2.05 A); in P2S6 units also one P-P bond (about 2.2 A)."""
    atoms = read(path(name))
    p_s = neighbour_counts(atoms, "P", "S", 2.3)
    p_p = neighbour_counts(atoms, "P", "P", 2.4)
    n_s, n_p = EXPECTED_P.get(name, (4, 0))
    assert p_s == [n_s] * len(p_s) and p_p == [n_p] * len(p_p)


def test_li2s_is_antifluorite():
    atoms = read(path("Li2S"))
    assert atoms.get_chemical_formula() == "Li8S4"
    assert set(neighbour_counts(atoms, "Li", "S", 2.6)) == {4}  # tetrahedral Li
    assert set(neighbour_counts(atoms, "S", "Li", 2.6)) == {8}  # cubic S
    assert crystal_cell(path("Li2S"), 96).get_chemical_formula() == "Li64S32"


def test_beta_li3ps4_is_the_ordered_8d_4b_model():
    """Li on 8d and 4b (published occupancies 1 and 0.70), the 4c site (0.30) left empty."""
    atoms = read(path("beta-Li3PS4"))
    cell = (atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers)
    data = spglib.get_symmetry_dataset(cell, symprec=1e-3)
    li = atoms.numbers == 3
    assert sorted(np.array(data.wyckoffs)[li]) == ["b"] * 4 + ["d"] * 8
    assert len(atoms) == 32 and atoms.get_volume() == pytest.approx(645.23, abs=0.05)
    assert min(neighbour_counts(atoms, "Li", "S", 2.9)) >= 3  # every Li bound to S


def test_li7p3s11_has_two_p2s7_and_two_ps4():
    """Li7P3S11 = Li7 (P2S7)(PS4): per cell two bridging S (2 P each) joining four P."""
    from ase.neighborlist import neighbor_list

    atoms = read(path("Li7P3S11"))
    i, j = neighbor_list("ij", atoms, 2.3)
    p_s = (atoms.numbers[i] == 16) & (atoms.numbers[j] == 15)  # S -> P bonds
    per_s = np.bincount(i[p_s], minlength=len(atoms))[atoms.numbers == 16]
    assert sorted(per_s) == [1] * 20 + [2] * 2
    bridges = np.flatnonzero(np.bincount(i[p_s], minlength=len(atoms)) == 2)
    assert len(set(j[p_s & np.isin(i, bridges)])) == 4  # the P of the two P2S7 units


def test_build_takes_a_p1_list():
    """A source listing every atom in P1 (basis_spacegroup=1) gives the same cell."""
    full = build(LI2S)
    p1 = Phase(
        name="Li2S-P1",
        formula=LI2S.formula,
        spacegroup=LI2S.spacegroup,
        cellpar=LI2S.cellpar,
        basis=tuple(
            (s, tuple(float(v) for v in xyz), "1a")
            for s, xyz in zip(full.get_chemical_symbols(), full.get_scaled_positions(), strict=True)
        ),
        density_g_cm3=LI2S.density_g_cm3,
        reference="test",
        basis_spacegroup=1,
    )
    atoms = build(p1)
    assert len(atoms) == len(full) == 12
    assert np.allclose(atoms.get_scaled_positions(), full.get_scaled_positions())
    assert "sites listed in space group 1" in header(p1)


@pytest.mark.parametrize("n_atoms", [96, 200])
@pytest.mark.parametrize("name", list(PHASES))
def test_crystal_cell_gives_sensible_supercells(name, n_atoms):
    """What a `structure:` composition gets: whole unit cells, close to n_atoms, not a slab."""
    unit = build(PHASES[name])
    cell = crystal_cell(path(name), n_atoms)
    assert len(cell) == len(unit) * int(np.prod(cell.info["repeats"]))
    assert cell.symbols.formula.reduce()[0] == unit.symbols.formula.reduce()[0]
    assert abs(len(cell) - n_atoms) / n_atoms <= 0.15
    normals = [np.cross(cell.cell[k - 2], cell.cell[k - 1]) for k in range(3)]
    widths = cell.get_volume() / np.linalg.norm(normals, axis=1)
    assert widths.min() >= 8.0 and widths.max() / widths.min() <= 2.6
    assert cell_density(cell) == pytest.approx(cell_density(unit), rel=1e-9)
    assert set(neighbour_counts(cell, "P", "S", 2.3)) <= {4}


@pytest.mark.slow
def test_every_shipped_phase_starts_a_campaign(tmp_path):
    """Each shipped phase as a composition (``structure:``): the workflow validates the config
    and builds its starting cell, a whole-cell supercell with the phase's P-S coordination."""
    from conftest import run_workflow, tiny_campaign

    config = tiny_campaign()
    config["compositions"] = [
        {"name": name, "structure": str(path(name)), "n_atoms": 96, "replicas": 1}
        for name in PHASES
    ]
    targets = [f"results/sample/{name}/replica_0.extxyz" for name in PHASES]
    run_workflow(tmp_path, config, *targets)
    for name, target in zip(PHASES, targets, strict=True):
        cell = read(tmp_path / target)
        unit = read(path(name))
        repeats = len(cell) // len(unit)
        assert len(cell) == repeats * len(unit) and repeats >= 1
        assert cell_density(cell) == pytest.approx(cell_density(unit), rel=1e-6)
        n_s, n_p = EXPECTED_P.get(name, (4, 0))
        assert set(neighbour_counts(cell, "P", "S", 2.3)) <= {n_s}
        assert set(neighbour_counts(cell, "P", "P", 2.4)) <= {n_p}
