"""Integer stoichiometry and anion speciation of x Li2S-(1-x) P2S5 (+ LiX, + O) glasses.

Conventions (documented in config/README.md):

* ``x`` is the Li2S mole fraction of the pseudo-binary x Li2S-(1-x) P2S5, 0.5 <= x <= 0.9.
* ``halide_fraction`` y is the LiX mole fraction of (1-y) [x Li2S-(1-x) P2S5] + y LiX
  (X = Cl, Br or I); each LiX adds one Li+ and one isolated X- ion.
* ``oxygen_fraction`` is the fraction of the S atoms bound to P that are replaced by O
  (terminal, non-bridging positions of the thiophosphate units), keeping Li and charge.

Default speciation (:func:`anion_units`; charge is balanced by Li+ exactly, every count is
an integer), the simplest P(V) units that fit x:

* x > 3/4: ortho-thiophosphate PS4 3- plus isolated sulfide S 2-;
* x = 3/4: PS4 3- only (Li3PS4);
* 2/3 <= x < 3/4: PS4 3- and pyro-thiophosphate P2S7 4- (corner sharing, one bridging S);
* 1/2 <= x < 2/3: P2S7 4- and the edge-sharing meta-thiodiphosphate P2S6 2-.

Explicit speciation (:func:`speciate`, the composition's ``speciation`` key): the fractions
of P in PS4 3-, P2S7 4-, edge-sharing P2S6 2- and hypo-thiodiphosphate P2S6 4- (P-P bond,
P(IV)) are given, and the sulfur the units do not hold is balanced explicitly: as sulfide
S 2- (Li2S) for the Li+ charge left over, and as elemental sulfur S0 for the rest. Units of
P(V) alone never leave S0; each hypo unit leaves exactly one S0, because on the Li2S-P2S5
line it forms by P2S7 4- -> P2S6 4- + S (the sulfur leaves the anion, P is reduced to
P(IV)). So P2S6 4- is on the Li2S-P2S5 line wherever Li+ suffices (it holds 2 Li+ per P
like P2S7 4-: x >= 2/3 alone, below 2/3 mixed with P2S6 2-; Li4P2S6 + S is the x = 2/3
composition Li4P2S7), and the PS4 fraction can vary at fixed x, e.g. at x = 3/4
2 PS4 3- = P2S7 4- + S 2- = P2S6 2- + 2 S 2- = P2S6 4- + S0 + S 2-. A mix needing more S or
Li than the composition holds is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

#: charge of each anion unit (e)
UNIT_CHARGE = {"PS4": -3, "P2S7": -4, "P2S6": -2, "P2S6_hypo": -4, "S": -2, "S0": 0, "X": -1}
#: atoms of each unit (X stands for the halide)
UNIT_ATOMS = {
    "PS4": {"P": 1, "S": 4},
    "P2S7": {"P": 2, "S": 7},
    "P2S6": {"P": 2, "S": 6},
    "P2S6_hypo": {"P": 2, "S": 6},
    "S": {"S": 1},
    "S0": {"S": 1},
    "X": {"X": 1},
}
#: fixed element order of every type map in the project
ELEMENT_ORDER = ("Li", "P", "S", "O", "Cl", "Br", "I")
HALIDES = ("Cl", "Br", "I")


@dataclass(frozen=True)
class Stoichiometry:
    """Integer recipe of one cell: a Li2S + b P2S5 + h LiX, and its anion units."""

    li2s: int
    p2s5: int
    lix: int = 0
    halide: str | None = None
    units: dict[str, int] = field(default_factory=dict)

    @property
    def x(self) -> float:
        """Realised Li2S mole fraction of the Li2S-P2S5 part."""
        return self.li2s / (self.li2s + self.p2s5)

    @property
    def halide_fraction(self) -> float:
        """Realised LiX mole fraction."""
        return self.lix / (self.li2s + self.p2s5 + self.lix)

    @property
    def n_li(self) -> int:
        return 2 * self.li2s + self.lix

    def element_counts(self) -> dict[str, int]:
        """Atoms per element before any O substitution."""
        counts = {"Li": self.n_li, "P": 2 * self.p2s5, "S": self.li2s + 5 * self.p2s5}
        if self.lix:
            counts[self.halide] = self.lix
        return counts

    @property
    def n_atoms(self) -> int:
        return sum(self.element_counts().values())

    def charge(self) -> int:
        """Net charge of Li+ plus all anion units (0 for a valid recipe)."""
        return self.n_li + sum(UNIT_CHARGE[u] * n for u, n in self.units.items())


def anion_units(li2s: int, p2s5: int, lix: int = 0) -> dict[str, int]:
    """Anion units of a Li2S + b P2S5 + h LiX following the regimes in the module doc."""
    a, b = li2s, p2s5
    if b <= 0 or a <= 0:
        raise ValueError("need at least one Li2S and one P2S5")
    ratio = Fraction(a, a + b)
    if ratio >= Fraction(3, 4):
        units = {"PS4": 2 * b, "S": a - 3 * b}
    elif ratio >= Fraction(2, 3):
        units = {"PS4": 2 * a - 4 * b, "P2S7": 3 * b - a}
    else:
        units = {"P2S7": a - b, "P2S6": 2 * b - a}
    if lix:
        units["X"] = lix
    return {u: n for u, n in units.items() if n > 0}


#: P-bearing units an explicit speciation may set (fractions of P in each)
SPECIATION_UNITS = ("PS4", "P2S7", "P2S6", "P2S6_hypo")
P_PER_UNIT = {"PS4": 1, "P2S7": 2, "P2S6": 2, "P2S6_hypo": 2}


class SpeciationError(ValueError):
    """An explicit anion-unit mix does not fit the composition."""


def speciate(li2s: int, p2s5: int, fractions: dict[str, float], lix: int = 0) -> dict[str, int]:
    """Anion units of a Li2S + b P2S5 + h LiX with the given fractions of P per unit type.

    ``fractions`` maps keys of :data:`SPECIATION_UNITS` to the fraction of all P in that unit
    (summing to 1). The P counts are rounded to whole units (dimers hold 2 P); the S the
    units do not hold becomes sulfide S 2- for the Li+ charge left over and elemental S0 for
    the rest. Raises :class:`SpeciationError` when the units need more S or Li+ than there is.
    """
    unknown = sorted(set(fractions) - set(SPECIATION_UNITS))
    if unknown:
        raise SpeciationError(f"unknown unit(s) {unknown}; use {list(SPECIATION_UNITS)}")
    total = sum(fractions.values())
    if abs(total - 1.0) > 1e-6:
        raise SpeciationError(f"fractions of P sum to {total:g}, not 1")
    n_p = 2 * p2s5
    dimers = {u: int(round(fractions.get(u, 0.0) * n_p / 2)) for u in SPECIATION_UNITS[1:]}
    while 2 * sum(dimers.values()) > n_p:  # rounding overshoot: trim the most rounded-up
        u = max(dimers, key=lambda k: 2 * dimers[k] - fractions.get(k, 0.0) * n_p)
        dimers[u] -= 1
    units = {"PS4": n_p - 2 * sum(dimers.values()), **dimers}
    n_li, n_s = 2 * li2s + lix, li2s + 5 * p2s5
    s_left = n_s - sum(UNIT_ATOMS[u]["S"] * n for u, n in units.items())
    charge_left = n_li + lix * UNIT_CHARGE["X"] + sum(UNIT_CHARGE[u] * n for u, n in units.items())
    if s_left < 0:
        raise SpeciationError(f"the units need {-s_left} more S than the composition holds")
    if charge_left < 0 or charge_left % 2:
        raise SpeciationError(
            f"the units need {-charge_left} more Li+ than the composition holds"
            if charge_left < 0
            else "the Li+ left over cannot be balanced by S 2-"
        )
    sulfide = charge_left // 2
    if sulfide > s_left:
        raise SpeciationError(
            f"{charge_left} Li+ left over but only {s_left} S to balance them as S 2-"
        )
    units.update(S=sulfide, S0=s_left - sulfide)
    if lix:
        units["X"] = lix
    return {u: n for u, n in units.items() if n > 0}


def speciation_error(units: dict[str, int], fractions: dict[str, float]) -> float:
    """Largest difference between realised and requested fractions of P per unit type."""
    n_p = sum(P_PER_UNIT[u] * units.get(u, 0) for u in SPECIATION_UNITS)
    return max(
        abs(P_PER_UNIT[u] * units.get(u, 0) / n_p - fractions.get(u, 0.0)) for u in SPECIATION_UNITS
    )


def solve(
    x: float,
    n_atoms: int,
    halide: str | None = None,
    halide_fraction: float = 0.0,
    tolerance: float = 0.5,
    speciation: dict[str, float] | None = None,
) -> Stoichiometry:
    """Closest integer recipe to ``x`` (and ``halide_fraction``) with about ``n_atoms`` atoms.

    Candidates have between (1 - tolerance) and (1 + tolerance) times ``n_atoms`` atoms; the
    one with the smallest composition error wins, ties broken by the atom count closest to
    the target. Exact when the target is representable in that size range. With
    ``speciation`` (fractions of P per unit, see :func:`speciate`) only recipes that can hold
    that mix are candidates, and the error of the realised fractions adds to the error.
    """
    if not 0.5 <= x <= 0.9:
        raise ValueError(f"x={x} outside 0.5 <= x <= 0.9")
    if halide_fraction and halide not in HALIDES:
        raise ValueError(f"halide must be one of {HALIDES}, got {halide!r}")
    lo, hi = max(1, int(n_atoms * (1 - tolerance))), int(n_atoms * (1 + tolerance)) + 1
    best_key, best = None, None
    for b in range(1, hi // 7 + 1):
        for a in range(1, (hi - 7 * b) // 3 + 1):
            h_max = (hi - 3 * a - 7 * b) // 2 if halide_fraction else 0
            for h in range(0, h_max + 1):
                atoms = 3 * a + 7 * b + 2 * h
                if not lo <= atoms <= hi:
                    continue
                err = abs(a / (a + b) - x) + abs(h / (a + b + h) - halide_fraction)
                if speciation:
                    try:
                        err += speciation_error(speciate(a, b, speciation, h), speciation)
                    except SpeciationError:
                        continue
                key = (round(err, 9), abs(atoms - n_atoms), atoms)
                if best_key is None or key < best_key:
                    best_key, best = key, (a, b, h)
    if best is None:
        if speciation:  # say why: the error of the mix at the closest plain recipe
            plain = solve(x, n_atoms, halide, halide_fraction, tolerance)
            speciate(plain.li2s, plain.p2s5, speciation, plain.lix)
        raise ValueError(f"no integer recipe with about {n_atoms} atoms")
    a, b, h = best
    units = speciate(a, b, speciation, h) if speciation else anion_units(a, b, h)
    return Stoichiometry(a, b, h, halide if h else None, units)
