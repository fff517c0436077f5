"""Shipped crystal phases: composition, density against the published value, coordination."""

from __future__ import annotations

import pytest
import spglib
from ase.io import read

from lpsflow.crystals import PHASES, build, cell_density, neighbour_counts, path
from lpsflow.structures import check_structure, crystal_cell


@pytest.mark.parametrize("name", list(PHASES))
def test_shipped_file_matches_its_crystallographic_data(name):
    phase = PHASES[name]
    text = path(name).read_text()
    assert phase.reference in text and f"space group {phase.spacegroup}" in text
    atoms = check_structure(path(name))  # what a composition with `structure:` runs
    assert atoms.get_chemical_formula(mode="metal") == build(phase).get_chemical_formula(
        mode="metal"
    )
    assert sorted(atoms.symbols.formula.count().items()) == sorted(
        build(phase).symbols.formula.count().items()
    )
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
