"""Known crystal phases shipped with lpsflow, built from their crystallographic description.

Each phase is its space group, lattice parameters and Wyckoff positions, with the source
the data were read from; :func:`build` makes the cell with ASE's ``ase.spacegroup.crystal``
and :func:`write_cif` writes it with the reference in the file header
(``src/lpsflow/data/crystals/<name>.cif``). Use a shipped phase as a composition with
``structure: <path of the file>`` (:func:`path`).

Only phases whose data could be checked against a readable source are shipped. Checked
and shipped: Li2S. Not shipped, because their Wyckoff positions could not be read from a
source available here: beta-Li3PS4 (Pnma, with partially occupied Li sites, so it would
also need an ordering), gamma-Li3PS4 (Pmn2_1), Li7P3S11 (P-1) and Li4P2S6 (P-31m, with
disordered P).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ase import Atoms
from ase.io import write
from ase.spacegroup import crystal

from lpsflow.amorphous import density

FOLDER = Path(__file__).parent / "data" / "crystals"


@dataclass(frozen=True)
class Phase:
    """Crystallographic description of one phase (lengths in angstrom, angles in degrees)."""

    name: str
    formula: str  # of the conventional cell
    spacegroup: int
    cellpar: tuple[float, float, float, float, float, float]
    basis: tuple[tuple[str, tuple[float, float, float], str], ...]  # element, xyz, Wyckoff
    density_g_cm3: float  # published density the cell is checked against
    reference: str


#: Li2S, antifluorite (cF12, Fm-3m No. 225): S on 4a (0, 0, 0), Li on 8c (1/4, 1/4, 1/4),
#: Li tetrahedral and S cubic. The structure type, space group and coordinations are from
#: the Wikipedia infobox of lithium sulfide; no lattice parameter was readable there, so a
#: is derived from the infobox density 1.66 g/cm3 (2014 revision), a = (4 M / rho N_A)^(1/3)
#: = 5.6859 angstrom, and the cell is checked against the current infobox density 1.67 g/cm3.
LI2S = Phase(
    name="Li2S",
    formula="Li8S4",
    spacegroup=225,
    cellpar=(5.6859, 5.6859, 5.6859, 90.0, 90.0, 90.0),
    basis=(("S", (0.0, 0.0, 0.0), "4a"), ("Li", (0.25, 0.25, 0.25), "8c")),
    density_g_cm3=1.67,
    reference=(
        "Lithium sulfide, Wikipedia chembox (antifluorite, cubic cF12, Fm-3m No. 225, "
        "Li tetrahedral / S cubic; density 1.66 g/cm3 in the 2014 revision, 1.67 g/cm3 now); "
        "lattice parameter derived from the 1.66 g/cm3 density"
    ),
)

PHASES = {p.name: p for p in (LI2S,)}


def build(phase: Phase) -> Atoms:
    """Conventional cell of ``phase`` from its space group and Wyckoff positions."""
    symbols = [el for el, _, _ in phase.basis]
    coords = [xyz for _, xyz, _ in phase.basis]
    atoms = crystal(symbols, basis=coords, spacegroup=phase.spacegroup, cellpar=list(phase.cellpar))
    atoms.pbc = True
    return atoms


def header(phase: Phase) -> str:
    wyckoff = ", ".join(f"{el} {w} ({x:g}, {y:g}, {z:g})" for el, (x, y, z), w in phase.basis)
    a, b, c, al, be, ga = phase.cellpar
    return (
        f"# {phase.name}: built by lpsflow.crystals with ase.spacegroup.crystal\n"
        f"# space group {phase.spacegroup}; a b c = {a} {b} {c} A; "
        f"alpha beta gamma = {al} {be} {ga} deg\n"
        f"# Wyckoff positions: {wyckoff}\n"
        f"# published density {phase.density_g_cm3} g/cm3\n"
        f"# source: {phase.reference}\n"
    )


def write_cif(phase: Phase, folder: str | Path = FOLDER) -> Path:
    """Write ``<folder>/<name>.cif`` with the reference in its header."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{phase.name}.cif"
    write(target, build(phase), format="cif")
    target.write_text(header(phase) + target.read_text())
    return target


def path(name: str) -> Path:
    """Path of the shipped CIF of phase ``name`` (for a composition's ``structure:``)."""
    return FOLDER / f"{PHASES[name].name}.cif"


def cell_density(atoms: Atoms) -> float:
    """Mass density of a cell in g/cm3."""
    return density(atoms)


def neighbour_counts(atoms: Atoms, centre: str, neighbour: str, cutoff: float) -> list[int]:
    """For every ``centre`` atom, the number of ``neighbour`` atoms within ``cutoff`` (angstrom)."""
    from ase.neighborlist import neighbor_list

    i, j = neighbor_list("ij", atoms, cutoff)
    symbols = atoms.get_chemical_symbols()
    counts = {k: 0 for k, s in enumerate(symbols) if s == centre}
    for a, b in zip(i, j, strict=True):
        if a in counts and symbols[b] == neighbour:
            counts[a] += 1
    return [counts[k] for k in sorted(counts)]
