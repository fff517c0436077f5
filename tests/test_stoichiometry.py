from fractions import Fraction

import pytest

from lpsflow.stoichiometry import (
    UNIT_ATOMS,
    UNIT_CHARGE,
    SpeciationError,
    anion_units,
    solve,
    speciate,
    speciation_error,
)


@pytest.mark.parametrize(
    "a,b,expected",
    [
        (3, 1, {"PS4": 2}),  # x = 0.75, Li3PS4
        (4, 1, {"PS4": 2, "S": 1}),  # x = 0.8
        (7, 3, {"PS4": 2, "P2S7": 2}),  # x = 0.7, Li7P3S11
        (2, 1, {"P2S7": 1}),  # x = 2/3, Li4P2S7
        (3, 2, {"P2S7": 1, "P2S6": 1}),  # x = 0.6
        (1, 1, {"P2S6": 1}),  # x = 0.5, LiPS3
    ],
)
def test_speciation_regimes(a, b, expected):
    assert anion_units(a, b) == expected


VALID = [
    (a, b)
    for a in range(1, 30)
    for b in range(1, 12)
    if Fraction(1, 2) <= Fraction(a, a + b) <= Fraction(9, 10)
]


@pytest.mark.parametrize("a,b", VALID)
def test_units_conserve_atoms_and_charge(a, b):
    units = anion_units(a, b)
    assert all(n > 0 for n in units.values())
    p = sum(UNIT_ATOMS[u].get("P", 0) * n for u, n in units.items())
    s = sum(UNIT_ATOMS[u].get("S", 0) * n for u, n in units.items())
    assert (p, s) == (2 * b, a + 5 * b)
    assert 2 * a + sum(UNIT_CHARGE[u] * n for u, n in units.items()) == 0


def test_solve_exact_when_representable():
    st = solve(0.7, 42)
    assert (st.li2s, st.p2s5, st.n_atoms, st.charge()) == (7, 3, 42, 0)
    assert st.element_counts() == {"Li": 14, "P": 6, "S": 22}


def test_solve_halide():
    st = solve(0.75, 60, halide="I", halide_fraction=0.2)
    assert st.units["X"] == st.lix > 0
    assert st.halide_fraction == pytest.approx(0.2, abs=0.02)
    assert st.charge() == 0
    assert st.element_counts()["I"] == st.lix


@pytest.mark.parametrize("x", [0.49, 0.91])
def test_solve_rejects_x_out_of_range(x):
    with pytest.raises(ValueError, match="x="):
        solve(x, 48)


@pytest.mark.parametrize(
    "fractions,expected",
    [
        ({"PS4": 1.0}, {"PS4": 4}),
        ({"PS4": 0.5, "P2S7": 0.5}, {"PS4": 2, "P2S7": 1, "S": 1}),
        ({"P2S6": 1.0}, {"P2S6": 2, "S": 4}),
        # P2S7 4- -> P2S6 4- + S: each hypo unit leaves one elemental S
        ({"PS4": 0.5, "P2S6_hypo": 0.5}, {"PS4": 2, "P2S6_hypo": 1, "S": 1, "S0": 1}),
    ],
)
def test_explicit_speciation_at_fixed_x(fractions, expected):
    """x = 3/4 (6 Li2S + 2 P2S5): the PS4 fraction varies, atoms and charge balance."""
    units = speciate(6, 2, fractions)
    assert units == expected
    p = sum(UNIT_ATOMS[u].get("P", 0) * n for u, n in units.items())
    s = sum(UNIT_ATOMS[u].get("S", 0) * n for u, n in units.items())
    assert (p, s) == (4, 6 + 10)
    assert 12 + sum(UNIT_CHARGE[u] * n for u, n in units.items()) == 0


def test_hypo_balances_on_the_line():
    """x = 2/3 (Li4P2S7 composition) as Li4P2S6 + S0; at 0.6 mixed with P2S6 2-."""
    st = solve(2 / 3, 45, speciation={"P2S6_hypo": 1.0})
    assert st.x == pytest.approx(2 / 3) and st.charge() == 0
    assert st.units == {"P2S6_hypo": st.p2s5, "S0": st.p2s5}
    assert speciate(3, 2, {"P2S6_hypo": 0.5, "P2S6": 0.5}) == {
        "P2S6_hypo": 1,
        "P2S6": 1,
        "S0": 1,
    }
    with pytest.raises(SpeciationError, match="more Li"):
        speciate(1, 1, {"P2S6_hypo": 1.0})  # x = 1/2: 2 Li+ per P are not there


@pytest.mark.parametrize(
    "a,b,fractions,match",
    [
        (3, 2, {"PS4": 1.0}, "more S"),  # x = 0.6 cannot be all PS4 3-
        (1, 1, {"PS4": 1.0}, "more"),
        (6, 2, {"PS4": 0.7}, "sum to 0.7"),
        (6, 2, {"PS5": 1.0}, "unknown"),
    ],
)
def test_explicit_speciation_rejected(a, b, fractions, match):
    with pytest.raises(SpeciationError, match=match):
        speciate(a, b, fractions)


def test_solve_with_speciation_rounds_to_whole_units():
    st = solve(0.75, 96, speciation={"PS4": 0.5, "P2S7": 0.5})
    assert st.x == 0.75 and st.charge() == 0
    assert speciation_error(st.units, {"PS4": 0.5, "P2S7": 0.5}) == 0
