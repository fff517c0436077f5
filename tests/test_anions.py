import numpy as np
import pytest
from ase import Atoms

from lpsflow.anions import UNIT_BUILDERS, find_units, substitute_oxygen, terminal_sulfur


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
