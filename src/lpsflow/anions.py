"""Rigid thiophosphate anion units (geometry, angstrom) and their detection in a structure.

Bond lengths are typical crystal values: terminal P-S 2.03, bridging P-S 2.10 (P2S7 4-)
and 2.12 (edge-sharing P2S6 2-), P-O 1.53 (when O replaces a terminal S), P-P 2.22 in the
hypo-thiodiphosphate P2S6 4- (two PS3 groups joined by a P-P bond, staggered).
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
P_P_HYPO = 2.22
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


def p2s6_hypo() -> Atoms:
    """Hypo-thiodiphosphate P2S6 4-: two PS3 groups joined by a P-P bond (staggered, P(IV))."""
    p1 = np.array([0.0, 0.0, P_P_HYPO / 2.0])
    p2 = -p1
    t1 = _tetrahedron_rest(p1, p2 - p1, P_S_TERMINAL)
    t2 = _tetrahedron_rest(p2, p1 - p2, P_S_TERMINAL, phase=np.pi / 3)
    return Atoms("PP" + "S" * 6, positions=[p1, p2, *t1, *t2])


UNIT_BUILDERS = {"PS4": ps4, "P2S7": p2s7, "P2S6": p2s6, "P2S6_hypo": p2s6_hypo}


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


def bond_graph(atoms: Atoms) -> tuple[np.ndarray, np.ndarray]:
    """Bonded pairs (i, j), both directions, by the cutoffs of :data:`BOND_CUTOFFS`."""
    symbols = set(atoms.get_chemical_symbols())
    cutoffs = {k: v for k, v in BOND_CUTOFFS.items() if set(k) <= symbols}
    if not cutoffs:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    i, j = neighbor_list("ij", atoms, cutoffs)
    return i, j


def _components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _p_neighbours(symbols: np.ndarray, i: np.ndarray, j: np.ndarray) -> tuple[dict, dict]:
    """Per P: its anion (S, O) neighbours and its P neighbours."""
    anions: dict[int, set] = {}
    pp: dict[int, set] = {}
    for a, b in zip(i, j, strict=True):
        if symbols[a] != "P":
            continue
        if symbols[b] in ("S", "O"):
            anions.setdefault(int(a), set()).add(int(b))
        elif symbols[b] == "P":
            pp.setdefault(int(a), set()).add(int(b))
    return anions, pp


def find_units(atoms: Atoms) -> Counter:
    """Count anion units in a periodic structure by their P-S/P-O/P-P bond graph.

    Returns formulas such as ``PS4``, ``P2S7``, ``P2S6`` (edge-sharing: each P bound to
    four S), ``P2S6(P-P)`` (hypo, P-P bonded), ``PS3O``, and ``S`` for sulfide ions bound to
    neither P nor S. A P2S6 cluster without a P-P bond whose P do not each have four S
    neighbours is not edge-sharing and counts as ``P2S6(irregular)``. S-S bonded sulfur
    that is not bound to P counts as ``S-S``.
    """
    symbols = np.array(atoms.get_chemical_symbols())
    i, j = bond_graph(atoms)
    label = _components(len(atoms), i, j)
    anions, pp = _p_neighbours(symbols, i, j)
    units: Counter = Counter()
    for comp in np.unique(label):
        members = np.flatnonzero(label == comp)
        syms = list(symbols[members])
        if "P" in syms:
            has_pp = any(int(a) in pp for a in members)
            name = _label(syms, has_pp)
            if name == "P2S6":
                p_atoms = [int(a) for a in members if symbols[a] == "P"]
                if any(len(anions.get(p, ())) != 4 for p in p_atoms):
                    name = "P2S6(irregular)"
            units[name] += 1
        elif syms == ["S"]:
            units["S"] += 1
        elif set(syms) == {"S"}:
            units["S-S"] += 1
    return units


#: unit types of P used by :func:`classify_phosphorus` (a P's share of each is reported)
P_UNIT_TYPES = ("PS4", "P2S7", "P2S6_edge", "P2S6_hypo", "larger", "other")


def classify_phosphorus(atoms: Atoms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit type of every P and the number of P bound to every S, by bond topology.

    Returns ``(p_index, p_type, s_p_count)``: indices of P atoms, their type from
    :data:`P_UNIT_TYPES` and, for every atom, how many P it is bound to (meaningful for S:
    0 free sulfide or sulfur, 1 terminal, 2 or more bridging). O counts like S around P.

    * PS4: one P with four anion neighbours and no P-P bond (ortho, also PS3O ...);
    * P2S7: two P sharing one anion, each with four anions (corner sharing, pyro);
    * P2S6_edge: two P sharing two anions, each with four anions (meta, edge sharing);
    * P2S6_hypo: two P bonded to each other, each with three anions (P(IV), hypo);
    * larger: three or more P in one connected unit; other: anything else (defects).
    """
    symbols = np.array(atoms.get_chemical_symbols())
    i, j = bond_graph(atoms)
    label = _components(len(atoms), i, j)
    anions, pp = _p_neighbours(symbols, i, j)
    s_p_count = np.zeros(len(atoms), dtype=int)
    for a, b in zip(i, j, strict=True):
        if symbols[a] in ("S", "O") and symbols[b] == "P":
            s_p_count[a] += 1
    p_index = np.flatnonzero(symbols == "P")
    types = []
    for p in p_index:
        ps = [int(q) for q in np.flatnonzero(label == label[p]) if symbols[q] == "P"]
        n_an = [len(anions.get(q, ())) for q in ps]
        bonded_pp = any(q in pp for q in ps)
        if len(ps) == 1:
            kind = "PS4" if n_an == [4] else "other"
        elif len(ps) > 2:
            kind = "larger"
        else:
            shared = len(anions.get(ps[0], set()) & anions.get(ps[1], set()))
            if bonded_pp:
                kind = "P2S6_hypo" if n_an == [3, 3] and shared == 0 else "other"
            elif n_an == [4, 4] and shared == 1:
                kind = "P2S7"
            elif n_an == [4, 4] and shared == 2:
                kind = "P2S6_edge"
            else:
                kind = "other"
        types.append(kind)
    return p_index, np.array(types, dtype=object), s_p_count
