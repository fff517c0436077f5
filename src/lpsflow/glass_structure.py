"""Structure of a glass: partial radial distribution functions and anion speciation."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from lpsflow.anions import find_units

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
