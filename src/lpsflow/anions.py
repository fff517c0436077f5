"""Rigid thiophosphate anion units (geometry, angstrom) and their detection in a structure.

Bond lengths are typical crystal values: terminal P-S 2.03, bridging P-S 2.10 (P2S7 4-)
and 2.12 (edge-sharing P2S6 2-), P-O 1.53 (when O replaces a terminal S).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

P_S_TERMINAL = 2.03
P_S_BRIDGING = 2.10
P_S_EDGE = 2.12
P_O = 1.53
TETRAHEDRAL = np.degrees(np.arccos(-1.0 / 3.0))  # 109.47 degrees
P_S_P_ANGLE = 106.0  # bridging angle of P2S7 4-
EDGE_S_P_S = 96.0  # ring angle at P in the P2S2 ring of P2S6 2-

#: cutoffs (angstrom) that define a bond when units are detected
BOND_CUTOFFS = {("P", "S"): 2.45, ("P", "O"): 1.90, ("P", "P"): 2.40, ("S", "S"): 2.30}


def _perpendicular(u: np.ndarray) -> np.ndarray:
    trial = np.array([1.0, 0.0, 0.0]) if abs(u[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    v = np.cross(u, trial)
    return v / np.linalg.norm(v)


def _tetrahedron_rest(
    centre: np.ndarray, axis: np.ndarray, length: float, phase: float = 0.0
) -> list:
    """The three vertices of a tetrahedron around ``centre`` whose fourth points along ``axis``."""
    u = axis / np.linalg.norm(axis)
    v = _perpendicular(u)
    w = np.cross(u, v)
    theta = np.radians(TETRAHEDRAL)
    out = []
    for k in range(3):
        phi = phase + 2.0 * np.pi * k / 3.0
        d = np.cos(theta) * u + np.sin(theta) * (np.cos(phi) * v + np.sin(phi) * w)
        out.append(centre + length * d)
    return out


def ps4() -> Atoms:
    """Ortho-thiophosphate PS4 3-: regular tetrahedron centred at the origin."""
    p = np.zeros(3)
    top = np.array([0.0, 0.0, P_S_TERMINAL])
    return Atoms("PS4", positions=[p, top, *_tetrahedron_rest(p, top, P_S_TERMINAL)])


def p2s7() -> Atoms:
    """Pyro-thiophosphate P2S7 4-: two PS4 sharing one corner S (staggered)."""
    half = np.radians(P_S_P_ANGLE / 2.0)
    sb = np.zeros(3)
    p1 = P_S_BRIDGING * np.array([np.sin(half), 0.0, -np.cos(half)])
    p2 = P_S_BRIDGING * np.array([-np.sin(half), 0.0, -np.cos(half)])
    t1 = _tetrahedron_rest(p1, sb - p1, P_S_TERMINAL, phase=np.pi / 3)
    t2 = _tetrahedron_rest(p2, sb - p2, P_S_TERMINAL)
    return Atoms("PSP" + "S" * 6, positions=[p1, sb, p2, *t1, *t2])


def p2s6() -> Atoms:
    """Meta-thiodiphosphate P2S6 2-: two PS4 sharing an edge (planar P2S2 ring)."""
    half = np.radians(EDGE_S_P_S / 2.0)
    px = P_S_EDGE * np.cos(half)
    sy = P_S_EDGE * np.sin(half)
    p1, p2 = np.array([px, 0.0, 0.0]), np.array([-px, 0.0, 0.0])
    ring = [np.array([0.0, sy, 0.0]), np.array([0.0, -sy, 0.0])]
    gamma = np.radians(115.0 / 2.0)
    terminal = []
    for p, sign in ((p1, 1.0), (p2, -1.0)):
        for zs in (1.0, -1.0):
            d = np.array([sign * np.cos(gamma), 0.0, zs * np.sin(gamma)])
            terminal.append(p + P_S_TERMINAL * d)
    return Atoms("PPSS" + "S" * 4, positions=[p1, p2, *ring, *terminal])


UNIT_BUILDERS = {"PS4": ps4, "P2S7": p2s7, "P2S6": p2s6}


def terminal_sulfur(unit: Atoms) -> list[int]:
    """Indices of S bound to exactly one P (non-bridging) in a unit built here."""
    p = [i for i, s in enumerate(unit.get_chemical_symbols()) if s == "P"]
    out = []
    for i, s in enumerate(unit.get_chemical_symbols()):
        if s != "S":
            continue
        d = np.linalg.norm(unit.positions[p] - unit.positions[i], axis=1)
        if np.sum(d < BOND_CUTOFFS[("P", "S")]) == 1:
            out.append(i)
    return out


def substitute_oxygen(unit: Atoms, index: int) -> None:
    """Replace terminal S ``index`` by O, moved along its P-S bond to the P-O length."""
    p_idx = [i for i, s in enumerate(unit.get_chemical_symbols()) if s == "P"]
    d = unit.positions[p_idx] - unit.positions[index]
    nearest = p_idx[int(np.argmin(np.linalg.norm(d, axis=1)))]
    bond = unit.positions[index] - unit.positions[nearest]
    unit.positions[index] = unit.positions[nearest] + P_O * bond / np.linalg.norm(bond)
    unit[index].symbol = "O"


def _label(symbols: list[str], has_pp: bool) -> str:
    counts = Counter(symbols)
    name = "".join(
        f"{el}{counts[el] if counts[el] > 1 else ''}" for el in ("P", "S", "O") if el in counts
    )
    return name + ("(P-P)" if has_pp else "")


def find_units(atoms: Atoms) -> Counter:
    """Count anion units in a periodic structure by their P-S/P-O/P-P bond graph.

    Returns formulas such as ``PS4``, ``P2S7``, ``P2S6``, ``P2S6(P-P)`` (hypo, P-P bonded),
    ``PS3O``, and ``S`` for sulfide ions bound to neither P nor S. S-S bonded sulfur that is
    not bound to P counts as ``S-S``.
    """
    symbols = np.array(atoms.get_chemical_symbols())
    present = set(symbols)
    cutoffs = {k: v for k, v in BOND_CUTOFFS.items() if set(k) <= present}
    n = len(atoms)
    if cutoffs:
        i, j = neighbor_list("ij", atoms, cutoffs)
    else:
        i = j = np.zeros(0, dtype=int)
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    units: Counter = Counter()
    pp = {(a, b) for a, b in zip(i, j, strict=True) if symbols[a] == "P" and symbols[b] == "P"}
    for comp in np.unique(label):
        members = np.flatnonzero(label == comp)
        syms = list(symbols[members])
        if "P" in syms:
            has_pp = any(a in members for a, _ in pp)
            units[_label(syms, has_pp)] += 1
        elif syms == ["S"]:
            units["S"] += 1
        elif set(syms) == {"S"}:
            units["S-S"] += 1
    return units
