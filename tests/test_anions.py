import numpy as np
import pytest
from ase import Atoms

from lpsflow.anions import (
    UNIT_BUILDERS,
    classify_phosphorus,
    find_units,
    substitute_oxygen,
    terminal_sulfur,
)


def _p_s_bonds(unit):
    sym = np.array(unit.get_chemical_symbols())
    d = np.linalg.norm(
        unit.positions[sym == "P"][:, None] - unit.positions[sym == "S"][None], axis=-1
    )
    return d[d < 2.45]


@pytest.mark.parametrize("name,n_bonds", [("PS4", 4), ("P2S7", 8), ("P2S6", 8)])
def test_unit_geometry(name, n_bonds):
    unit = UNIT_BUILDERS[name]()
    bonds = _p_s_bonds(unit)
    assert len(bonds) == n_bonds
    assert np.all((bonds > 1.95) & (bonds < 2.20))
    d = unit.get_all_distances()
    s = np.array(unit.get_chemical_symbols()) == "S"
    assert d[np.ix_(s, s)][~np.eye(s.sum(), dtype=bool)].min() > 3.0  # no S-S bonds


@pytest.mark.parametrize("name", ["PS4", "P2S7", "P2S6"])
def test_find_units_recognises_each_unit(name):
    unit = UNIT_BUILDERS[name]()
    atoms = Atoms(unit.symbols, positions=unit.positions + 6.0, cell=[12.0] * 3, pbc=True)
    assert find_units(atoms) == {name: 1}


def test_oxygen_substitution_shortens_bond():
    unit = UNIT_BUILDERS["PS4"]()
    i = terminal_sulfur(unit)[0]
    substitute_oxygen(unit, i)
    assert unit[i].symbol == "O"
    assert np.linalg.norm(unit.positions[i] - unit.positions[0]) == pytest.approx(1.53)
    atoms = Atoms(unit.symbols, positions=unit.positions + 5, cell=[10.0] * 3, pbc=True)
    assert find_units(atoms) == {"PS3O": 1}


def test_bridging_sulfur_not_terminal():
    assert len(terminal_sulfur(UNIT_BUILDERS["P2S7"]())) == 6
    assert len(terminal_sulfur(UNIT_BUILDERS["P2S6"]())) == 4


def _boxed(unit, edge=12.0):
    return Atoms(unit.symbols, positions=unit.positions + edge / 2, cell=[edge] * 3, pbc=True)


def test_hypo_unit_geometry():
    unit = UNIT_BUILDERS["P2S6_hypo"]()
    d = unit.get_all_distances()
    assert d[0, 1] == pytest.approx(2.22)  # P-P bond
    assert np.sum((d[:2, 2:] > 1.95) & (d[:2, 2:] < 2.20)) == 6  # three S per P
    assert find_units(_boxed(unit)) == {"P2S6(P-P)": 1}


def test_edge_sharing_needs_four_s_per_p():
    """A P2S6 cluster with one three-coordinated P (corner sharing) is not edge-sharing."""
    p2s7 = UNIT_BUILDERS["P2S7"]()
    # drop one terminal S of the second P: P2S6 formula, one bridging S, P with 3 S
    second_p = 2
    terminal = [
        i
        for i in terminal_sulfur(p2s7)
        if np.linalg.norm(p2s7.positions[i] - p2s7.positions[second_p]) < 2.45
    ]
    del p2s7[terminal[0]]
    assert p2s7.get_chemical_formula() == "P2S6"
    atoms = _boxed(p2s7)
    assert find_units(atoms) == {"P2S6(irregular)": 1}
    assert list(classify_phosphorus(atoms)[1]) == ["other", "other"]
    assert find_units(_boxed(UNIT_BUILDERS["P2S6"]())) == {"P2S6": 1}


def test_classify_phosphorus_mixed_cell():
    """PS4 + P2S7 + edge P2S6 + hypo P2S6 + free S, far apart in one cell."""
    atoms = Atoms(cell=[24.0] * 3, pbc=True)
    corners = ([6, 6, 6], [18, 6, 6], [6, 18, 6], [18, 18, 6])
    for name, corner in zip(("PS4", "P2S7", "P2S6", "P2S6_hypo"), corners, strict=True):
        unit = UNIT_BUILDERS[name]()
        atoms += Atoms(unit.symbols, positions=unit.positions + corner)
    atoms += Atoms("S", positions=[[12, 12, 18]])
    p, kinds, s_p = classify_phosphorus(atoms)
    assert sorted(kinds) == sorted(
        ["PS4", "P2S7", "P2S7", "P2S6_edge", "P2S6_edge", "P2S6_hypo", "P2S6_hypo"]
    )
    s = np.array(atoms.get_chemical_symbols()) == "S"
    assert np.bincount(s_p[s], minlength=3).tolist() == [1, 4 + 6 + 4 + 6, 1 + 2]
