"""Integer stoichiometry and anion speciation of x Li2S-(1-x) P2S5 (+ LiX, + O) glasses.

Conventions (documented in config/README.md):

* ``x`` is the Li2S mole fraction of the pseudo-binary x Li2S-(1-x) P2S5, 0.5 <= x <= 0.9.
* ``halide_fraction`` y is the LiX mole fraction of (1-y) [x Li2S-(1-x) P2S5] + y LiX
  (X = Cl, Br or I); each LiX adds one Li+ and one isolated X- ion.
* ``oxygen_fraction`` is the fraction of the S atoms bound to P that are replaced by O
  (terminal, non-bridging positions of the thiophosphate units), keeping Li and charge.

Speciation (charge is balanced by Li+ exactly, every count is an integer):

* x > 3/4: ortho-thiophosphate PS4 3- plus isolated sulfide S 2-;
* x = 3/4: PS4 3- only (Li3PS4);
* 2/3 <= x < 3/4: PS4 3- and pyro-thiophosphate P2S7 4- (corner sharing, one bridging S);
* 1/2 <= x < 2/3: P2S7 4- and the edge-sharing meta-thiodiphosphate P2S6 2-.

Below 2/3 the hypo-thiodiphosphate P2S6 4- (P-P bond, P(IV)) cannot balance Li, P, S and
charge on the Li2S-P2S5 line (any mix of 4- dimers has Li/P = 2, i.e. x = 2/3), so the
P2S5-rich side uses the P(V) meta unit P2S6 2- (LiPS3 at x = 1/2). Compositions containing
P2S6 4- (for example Li4P2S6) enter through a crystal structure file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

#: charge of each anion unit (e)
UNIT_CHARGE = {"PS4": -3, "P2S7": -4, "P2S6": -2, "S": -2, "X": -1}
#: atoms of each unit (X stands for the halide)
UNIT_ATOMS = {
    "PS4": {"P": 1, "S": 4},
    "P2S7": {"P": 2, "S": 7},
    "P2S6": {"P": 2, "S": 6},
    "S": {"S": 1},
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


def solve(
    x: float,
    n_atoms: int,
    halide: str | None = None,
    halide_fraction: float = 0.0,
    tolerance: float = 0.5,
) -> Stoichiometry:
    """Closest integer recipe to ``x`` (and ``halide_fraction``) with about ``n_atoms`` atoms.

    Candidates have between (1 - tolerance) and (1 + tolerance) times ``n_atoms`` atoms; the
    one with the smallest composition error wins, ties broken by the atom count closest to
    the target. Exact when the target is representable in that size range.
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
                key = (round(err, 9), abs(atoms - n_atoms), atoms)
                if best_key is None or key < best_key:
                    best_key, best = key, (a, b, h)
    if best is None:
        raise ValueError(f"no integer recipe with about {n_atoms} atoms")
    a, b, h = best
    return Stoichiometry(a, b, h, halide if h else None, anion_units(a, b, h))
