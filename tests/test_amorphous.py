from collections import Counter

import numpy as np
import pytest

from lpsflow.amorphous import MinDistances, PackingError, density, pack
from lpsflow.anions import find_units
from lpsflow.stoichiometry import UNIT_CHARGE, solve

CASES = [  # (x, n_atoms, halide, halide_fraction, oxygen_fraction)
    (0.50, 40, None, 0.0, 0.0),  # P2S6 2- only
    (0.60, 46, None, 0.0, 0.0),  # P2S7 4- + P2S6 2-
    (2 / 3, 36, None, 0.0, 0.0),  # P2S7 4- only
    (0.70, 42, None, 0.0, 0.0),  # PS4 3- + P2S7 4-
    (0.75, 48, None, 0.0, 0.0),  # PS4 3- only
    (0.80, 57, None, 0.0, 0.0),  # PS4 3- + S 2-
    (0.75, 48, None, 0.0, 0.25),  # O on terminal sites
    (0.75, 60, "Br", 0.2, 0.0),  # LiBr
]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"x{c[0]:.2f}-{c[2]}-O{c[4]}")
def cell(request):
    x, n, hal, y, o = request.param
    stoich = solve(x, n, hal, y)
    return stoich, o, pack(stoich, 1.9, seed=7, oxygen_fraction=o)


def test_exact_stoichiometry(cell):
    stoich, o, atoms = cell
    counts = Counter(atoms.get_chemical_symbols())
    expected = stoich.element_counts()
    n_o = counts.pop("O", 0)
    assert n_o == round(o * (expected["S"] - stoich.units.get("S", 0)))
    expected["S"] -= n_o
    assert dict(counts) == expected


def test_charge_neutral_speciation_found_in_cell(cell):
    stoich, o, atoms = cell
    found = find_units(atoms)
    if o == 0:
        expected = {u: n for u, n in stoich.units.items() if u != "X"}
        assert found == expected
    else:  # O-substituted units keep their P count and charge
        assert sum(found.values()) == sum(stoich.units.values())
    charge = stoich.n_li + sum(UNIT_CHARGE[u] * n for u, n in stoich.units.items())
    assert charge == 0


def test_density(cell):
    assert density(cell[2]) == pytest.approx(1.9, rel=1e-9)


def test_minimum_distances(cell):
    atoms = cell[2]
    d = atoms.get_all_distances(mic=True)
    np.fill_diagonal(d, np.inf)
    li = np.array(atoms.get_chemical_symbols()) == "Li"
    assert d[li].min() >= 1.8 - 1e-9
    assert d.min() > 1.5  # only P-O bonds are shorter than P-S


def test_p_s_bond_lengths(cell):
    atoms = cell[2]
    sym = np.array(atoms.get_chemical_symbols())
    d = atoms.get_all_distances(mic=True)[np.ix_(sym == "P", sym == "S")]
    bonded = d[d < 2.45]
    assert len(bonded) == 4 * (sym == "P").sum() - (sym == "O").sum()
    assert np.all((bonded > 1.95) & (bonded < 2.2))
    assert d[d >= 2.45].min() > 2.8  # no S of another unit close to P


def test_reproducible_from_seed():
    stoich = solve(0.75, 16)
    a, b, c = (pack(stoich, 1.9, seed=s) for s in (3, 3, 4))
    assert np.array_equal(a.positions, b.positions)
    assert not np.allclose(a.positions, c.positions)


def test_impossible_density_is_reported():
    with pytest.raises(PackingError, match="lower the density"):
        pack(
            solve(0.75, 16),
            6.0,
            seed=0,
            min_dist=MinDistances(2.5, 3.5),
            max_sweeps=5,
            max_restarts=2,
        )


def test_explicit_speciation_packed_with_hypo_units():
    """PS4 3- + hypo P2S6 4- + S 2- + elemental S at x = 3/4: every unit found intact."""
    stoich = solve(0.75, 48, speciation={"PS4": 0.5, "P2S6_hypo": 0.5})
    atoms = pack(stoich, 1.9, seed=3)
    n_s = stoich.units["S"] + stoich.units["S0"]
    assert find_units(atoms) == {"PS4": stoich.units["PS4"], "P2S6(P-P)": 1, "S": n_s}
    assert stoich.units["P2S6_hypo"] == 1 and stoich.units["S0"] == 1
