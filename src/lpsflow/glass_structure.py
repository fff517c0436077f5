"""Structure of a glass: partial radial distribution functions and anion speciation, of one
structure (:func:`analyse`) or averaged over the frames of a run (:class:`StructureOverTime`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from lpsflow.anions import P_UNIT_TYPES, classify_phosphorus, find_units

PAIRS = (("P", "S"), ("Li", "S"), ("Li", "Li"), ("S", "S"))


def partial_rdf(atoms: Atoms, a: str, b: str, rmax: float = 6.0, nbins: int = 120):
    """g_ab(r) of a periodic structure: bin centres (angstrom) and values.

    Normalised so that g -> 1 for an uncorrelated distribution of b atoms around a atoms.
    """
    symbols = np.array(atoms.get_chemical_symbols())
    n_a, n_b = int((symbols == a).sum()), int((symbols == b).sum())
    edges = np.linspace(0.0, rmax, nbins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    if n_a == 0 or n_b == 0 or (a == b and n_a < 2):
        return centres, np.zeros(nbins)
    i, j, d = neighbor_list("ijd", atoms, rmax)
    mask = (symbols[i] == a) & (symbols[j] == b)
    hist, _ = np.histogram(d[mask], bins=edges)
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    density_b = (n_b - (1 if a == b else 0)) / atoms.get_volume()
    return centres, hist / (n_a * density_b * shell)


def analyse(atoms: Atoms, rmax: float = 6.0) -> dict:
    """RDFs of the pairs in :data:`PAIRS` and the anion units found, for a report."""
    out = {"units": dict(find_units(atoms)), "rdf": {}}
    for a, b in PAIRS:
        r, g = partial_rdf(atoms, a, b, rmax)
        out["rdf"][f"{a}-{b}"] = {"r": r.tolist(), "g": g.tolist()}
    return out


# ---- structure over a run: streamed frames, time averages, change of the units ----

#: angstrom, Li-S contact distance for the coordination (near the first minimum of g_LiS)
LI_S_CUTOFF = 3.0
#: P RMS displacement (angstrom, drift removed) beyond which the P framework has flowed:
#: a crystal so displaced has melted or amorphised
FLOW_DISPLACEMENT = 1.5
#: change of any P unit fraction, first vs last part of a run, flagged as units changing
UNIT_CHANGE_LIMIT = 0.1


def frame_structure(atoms: Atoms, li_s_cutoff: float = LI_S_CUTOFF) -> dict:
    """Unit type of each P, S classes and Li-S coordination of one frame.

    Returns ``p_types`` (per P, see :data:`lpsflow.anions.P_UNIT_TYPES`), ``p_fraction``
    (fraction of P per type), ``s_fraction`` (S bound to 0 P: free, 1: terminal, 2+:
    bridging) and ``li_s`` (mean S neighbours per Li within ``li_s_cutoff`` angstrom, split
    by the class of the S, and ``total``).
    """
    atoms = atoms.copy()
    atoms.wrap()
    symbols = np.array(atoms.get_chemical_symbols())
    _, p_types, s_p = classify_phosphorus(atoms)
    out: dict = {
        "p_types": p_types,
        "p_fraction": {
            k: float(np.mean(p_types == k)) if len(p_types) else 0.0 for k in P_UNIT_TYPES
        },
    }
    s = symbols == "S"
    s_class = np.where(s_p == 0, "free", np.where(s_p == 1, "terminal", "bridging"))
    n_s = max(int(s.sum()), 1)
    out["s_fraction"] = {
        c: float(np.sum(s & (s_class == c)) / n_s) for c in ("terminal", "bridging", "free")
    }
    n_li = int((symbols == "Li").sum())
    li_s = {c: 0.0 for c in ("terminal", "bridging", "free", "total")}
    if n_li and s.any():
        i, j = neighbor_list("ij", atoms, {("Li", "S"): li_s_cutoff})
        mask = (symbols[i] == "Li") & s[j]
        for c in ("terminal", "bridging", "free"):
            li_s[c] = float(np.sum(s_class[j[mask]] == c) / n_li)
        li_s["total"] = float(mask.sum() / n_li)
    out["li_s"] = li_s
    return out


class StructureOverTime:
    """Structure averaged over a run, streamed frame by frame (set up, add frames, results).

    Frames must hold unwrapped positions (for the P displacement) with a fixed cell (NVT).
    """

    def __init__(self, rmax: float = 6.0, nbins: int = 120, li_s_cutoff: float = LI_S_CUTOFF):
        self.rmax, self.nbins, self.li_s_cutoff = rmax, nbins, li_s_cutoff
        self.frames: list[dict] = []
        self.rdf_sum: dict[str, np.ndarray] = {}
        self.r: np.ndarray | None = None
        self.p_start: np.ndarray | None = None
        self.com_start: np.ndarray | None = None
        self.p_rms: list[float] = []

    def add(self, atoms: Atoms) -> None:
        rmax = min(self.rmax, 0.49 * min(atoms.cell.lengths()))
        self.rmax = rmax
        one = frame_structure(atoms, self.li_s_cutoff)
        self.frames.append(one)
        for a, b in PAIRS:
            r, g = partial_rdf(atoms, a, b, rmax, self.nbins)
            key = f"{a}-{b}"
            self.rdf_sum[key] = self.rdf_sum.get(key, 0.0) + g
            self.r = r
        p = np.array(atoms.get_chemical_symbols()) == "P"
        com = atoms.positions.mean(axis=0)
        if self.p_start is None:
            self.p_start, self.com_start = atoms.positions[p].copy(), com
        d = atoms.positions[p] - self.p_start - (com - self.com_start)
        self.p_rms.append(float(np.sqrt(np.mean(np.sum(d**2, axis=1)))) if p.any() else 0.0)

    def results(self) -> dict:
        """Time averages (mean and standard deviation over frames), RDFs averaged over
        frames, unit fractions of the first and last third of the run, the fraction of P
        whose unit type differs between the first and last frame, the P RMS displacement
        (angstrom) at the end and whether the framework flowed or the units changed.
        """
        n = len(self.frames)
        if not n:
            raise ValueError("no frames")

        def stats(group: str, frames: list[dict]) -> dict:
            keys = frames[0][group]
            return {k: float(np.mean([f[group][k] for f in frames])) for k in keys}

        def spread(group: str) -> dict:
            keys = self.frames[0][group]
            return {k: float(np.std([f[group][k] for f in self.frames])) for k in keys}

        third = max(1, n // 3)
        first, last = (
            stats("p_fraction", self.frames[:third]),
            stats("p_fraction", self.frames[-third:]),
        )
        change = max(abs(last[k] - first[k]) for k in P_UNIT_TYPES)
        t0, t1 = self.frames[0]["p_types"], self.frames[-1]["p_types"]
        switched = float(np.mean(t0 != t1)) if len(t0) else 0.0
        rms = self.p_rms[-1]
        return {
            "n_frames": n,
            "p_fraction": stats("p_fraction", self.frames),
            "p_fraction_std": spread("p_fraction"),
            "s_fraction": stats("s_fraction", self.frames),
            "li_s": stats("li_s", self.frames),
            "li_s_std": spread("li_s"),
            "li_s_cutoff_A": self.li_s_cutoff,
            "p_fraction_first": first,
            "p_fraction_last": last,
            "unit_change": change,
            "p_switched_fraction": switched,
            "units_changed": bool(change > UNIT_CHANGE_LIMIT),
            "p_rms_displacement_A": rms,
            "framework_flowed": bool(rms > FLOW_DISPLACEMENT),
            "rdf": {
                k: {"r": self.r.tolist(), "g": (v / n).tolist()} for k, v in self.rdf_sum.items()
            },
        }


def analyse_run(frames: Iterable[Atoms], **kw) -> dict:
    """:class:`StructureOverTime` results of a sequence or iterator of frames (ase.Atoms)."""
    acc = StructureOverTime(**kw)
    for atoms in frames:
        acc.add(atoms)
    return acc.results()


def read_frames(path: str | Path, type_map: list[str], every: int = 1) -> Iterator[Atoms]:
    """Frames of an all-atom LAMMPS text dump (``id type xu yu zu``; types in ``type_map``
    order), streamed; positions stay unwrapped. ``every``: keep every n-th frame.
    """
    from ase.io import iread

    for k, atoms in enumerate(iread(str(path), format="lammps-dump-text", specorder=type_map)):
        if k % every == 0:
            yield atoms


def read_dcd_frames(path: str | Path, start: Atoms, every: int = 1) -> Iterator[Atoms]:
    """Frames of a LAMMPS ``dump dcd`` (all atoms, ordered by id as in ``start``, the run's
    start structure, which supplies the elements), streamed with MDAnalysis' DCD reader.
    Positions are as written (unwrapped with ``dump_modify unwrap yes``); the cell of each
    frame comes from the file (angstrom, degrees).
    """
    import warnings

    from MDAnalysis.coordinates.DCD import DCDReader

    warnings.filterwarnings("ignore", "DCDReader currently makes independent timesteps")

    symbols = start.get_chemical_symbols()
    reader = DCDReader(str(path))
    try:
        if reader.n_atoms != len(symbols):
            raise ValueError(f"{path}: {reader.n_atoms} atoms, start structure {len(symbols)}")
        for k, ts in enumerate(reader):
            if k % every == 0:
                yield Atoms(symbols, positions=ts.positions.copy(), cell=ts.dimensions, pbc=True)
    finally:
        reader.close()
