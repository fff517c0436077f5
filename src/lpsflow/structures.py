"""Starting structures of one composition: generated amorphous cells or a user's crystal.

ASE ``Atoms`` is the currency between stages; cells are written as extxyz with their
provenance in ``atoms.info``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from ase import Atoms

from lpsflow.amorphous import MinDistances, density, pack
from lpsflow.seeds import derive
from lpsflow.stoichiometry import ELEMENT_ORDER, solve


def closest_pair(atoms: Atoms, within: float) -> float:
    """Distance (angstrom, periodic images included) of the closest two atoms of ``atoms``
    if it is below ``within``, else inf (also for a single atom). A neighbour list with
    cutoff ``within``: cheap for a small cutoff even in large cells."""
    from ase.neighborlist import neighbor_list

    if within <= 0 or len(atoms) < 2:
        return float("inf")
    d = neighbor_list("d", atoms, within)
    return float(d.min()) if len(d) else float("inf")


class StructureError(ValueError):
    """A user-supplied structure file is unusable."""


def check_structure(path: str | Path, allowed: tuple[str, ...] = ELEMENT_ORDER) -> Atoms:
    """Read a CIF/POSCAR/extxyz file and check it is periodic and made of ``allowed`` elements."""
    from ase.io import read  # not at module level: ase.io takes about a second to import and
    # every snakemake start imports this module (workflow/rules/common.smk)

    try:
        atoms = read(str(path))
    except Exception as err:  # ASE raises many types for unreadable files
        raise StructureError(f"cannot read structure file {path}: {err}") from err
    if not all(atoms.pbc) or atoms.cell.rank < 3 or atoms.get_volume() <= 1e-6:
        raise StructureError(f"structure file {path} is not periodic in three dimensions")
    unknown = sorted(set(atoms.get_chemical_symbols()) - set(allowed))
    if unknown:
        raise StructureError(
            f"structure file {path} has elements {unknown} outside {list(allowed)}"
        )
    return atoms


def supercell_repeats(atoms: Atoms, n_atoms: int) -> tuple[int, int, int]:
    """Repeats (n1, n2, n3) giving about ``n_atoms`` atoms in a cell close to cubic."""
    lengths = atoms.cell.lengths()
    best, best_key = (1, 1, 1), None
    n_max = max(1, int(np.ceil((2 * n_atoms / len(atoms)) ** (1 / 3))) + 2)
    for rep in itertools.product(range(1, n_max + 1), repeat=3):
        n = len(atoms) * int(np.prod(rep))
        edges = lengths * np.array(rep)
        key = (abs(n - n_atoms) / n_atoms + 0.1 * (edges.max() / edges.min() - 1.0), n)
        if best_key is None or key < best_key:
            best, best_key = rep, key
    return best


def crystal_cell(path: str | Path, n_atoms: int) -> Atoms:
    """The checked crystal of ``path`` repeated to about ``n_atoms`` atoms."""
    atoms = check_structure(path)
    rep = supercell_repeats(atoms, n_atoms)
    cell = atoms.repeat(rep)
    cell.info.update(source=str(path), repeats=list(rep))
    return cell


def amorphous_cell(composition: dict, replica: int, min_dist: MinDistances) -> Atoms:
    """Amorphous cell of a composition entry of the config (keys as in the schema)."""
    stoich = solve(
        composition["x"],
        composition["n_atoms"],
        halide=composition.get("halide"),
        halide_fraction=composition.get("halide_fraction", 0.0),
        speciation=composition.get("speciation"),
    )
    seed = derive(composition.get("seed", 0), scale=1000, structure=replica)
    atoms = pack(
        stoich,
        composition["density"],
        seed=seed,
        oxygen_fraction=composition.get("oxygen_fraction", 0.0),
        min_dist=min_dist,
    )
    atoms.info.update(
        x_realised=stoich.x,
        li2s=stoich.li2s,
        p2s5=stoich.p2s5,
        lix=stoich.lix,
        units=" ".join(f"{k}:{v}" for k, v in sorted(stoich.units.items())),
        seed=seed,
        density_g_cm3=density(atoms),
    )
    return atoms


def starting_cell(composition: dict, replica: int, min_dist: MinDistances) -> Atoms:
    """Starting cell for ``replica`` of ``composition``: crystal file if given, else amorphous."""
    if composition.get("structure"):
        atoms = crystal_cell(composition["structure"], composition["n_atoms"])
    else:
        atoms = amorphous_cell(composition, replica, min_dist)
    atoms.info.update(composition=composition["name"], replica=replica)
    return atoms
