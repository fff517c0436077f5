"""Known crystal phases shipped with lpsflow, built from their crystallographic description.

Each phase is its space group, lattice parameters and atomic positions (Wyckoff positions,
or a full P1 list where the source gives one), with the sources the data were read from;
:func:`build` makes the cell with ASE's ``ase.spacegroup.crystal`` and :func:`write_cif`
writes it with the references in the file header (``src/lpsflow/data/crystals/<name>.cif``).
Use a shipped phase as a composition with ``structure: <path of the file>`` (:func:`path`).

Only phases whose every number could be read from a checkable source are shipped:

- Li2S (antifluorite; lattice parameter derived from the published density).
- beta-Li3PS4 (Pnma): lattice and Wyckoff positions of Homma et al. (2011). The published
  structure has two partially occupied Li sites (4b 0.70, 4c 0.30); the ordered model fills
  4b and leaves 4c empty, the Li ordering of the Materials Project structure mp-985583.
- Li7P3S11 (P-1): the ordered, DFT-relaxed (PBE) Materials Project structure mp-641703, read
  as a P1 list; its cell is about 6 % larger in volume than the experimental cell of Yamane
  et al. (2007), whose atomic positions could not be read here. The workflow relaxes every
  crystal by NPT before use.

Not shipped: gamma-Li3PS4 (Pmn2_1) and Li4P2S6 (P-31m, disordered P), because no readable
source with their atomic positions was found (only lattice parameters and the space group),
and no Materials Project entry of them could be identified from a readable source.
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
    spacegroup: int  # of the structure (what spglib finds in the built cell)
    cellpar: tuple[float, float, float, float, float, float]
    basis: tuple[tuple[str, tuple[float, float, float], str], ...]  # element, xyz, Wyckoff
    density_g_cm3: float  # published density the cell is checked against
    reference: str
    #: space group the basis is listed in: None for ``spacegroup`` (Wyckoff positions), 1
    #: for a source that lists every atom of the cell (P1 list)
    basis_spacegroup: int | None = None


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

#: beta-Li3PS4, Pnma (No. 62), Z = 4. Lattice a, b, c and V = 645.23 A^3: GEMDAT's
#: src/data/li3ps4.cif (github.com/GEMDAT-repos/GEMDAT), which cites Homma et al.,
#: doi:10.1016/j.ssi.2010.10.001. Wyckoff positions and occupancies: the ICSD 180319 entry
#: of that paper as quoted in github.com/NRC-Mila/OBELiX/issues/7 (Li1 8d occupancy 1,
#: Li2 4b 0.70, Li3 4c 0.30; P1 4c; S1 8d; S2, S3 4c); GEMDAT's file lists the same three Li
#: sites. Ordered model: Li1 and Li2 full, Li3 empty (12 Li per cell, Li3PS4), the ordering of
#: the Materials Project structure mp-985583 (Li on 8d and on 4b (0, 0, 1/2), read in
#: salil91/intrinsic-hardness data/mp-985583.cif and fxcoudert/topology_databases
#: cif/mp-985583.cif). Density 4 M(Li3PS4) / (N_A V) = 1.853 g/cm3.
BETA_LI3PS4 = Phase(
    name="beta-Li3PS4",
    formula="Li12P4S16",
    spacegroup=62,
    cellpar=(12.8190, 8.2195, 6.1236, 90.0, 90.0, 90.0),
    basis=(
        ("Li", (0.3562, 0.013, 0.439), "8d"),
        ("Li", (0.0, 0.0, 0.5), "4b"),
        ("P", (0.0872, 0.25, 0.1719), "4c"),
        ("S", (0.1551, 0.0458, 0.2852), "8d"),
        ("S", (0.9346, 0.25, 0.2574), "4c"),
        ("S", (0.1068, 0.25, 0.8366), "4c"),
    ),
    density_g_cm3=1.853,
    reference=(
        "beta-Li3PS4: Homma et al., 'Crystal structure and phase transitions of the lithium "
        "ionic conductor Li3PS4', Solid State Ionics (2011), doi:10.1016/j.ssi.2010.10.001 "
        "(ICSD 180319); lattice and V = 645.23 A^3 read from GEMDAT-repos/GEMDAT "
        "src/data/li3ps4.cif; Wyckoff positions and occupancies (Li 8d 1, 4b 0.70, 4c 0.30) "
        "read from the ICSD 180319 entry quoted in NRC-Mila/OBELiX issue #7. Ordered model: "
        "Li on 8d and 4b, 4c empty, as in Materials Project mp-985583 (read in "
        "salil91/intrinsic-hardness data/mp-985583.cif). Density computed from Z = 4 and V"
    ),
)

#: Li7P3S11, P-1 (No. 2), Z = 2: Materials Project mp-641703, PBE-relaxed and ordered, read
#: as the P1 CIF cif/mp-641703.cif of github.com/fxcoudert/topology_databases ("directly
#: derived from the Materials Project database", CC-BY 4.0). Two P2S7 4- and two PS4 3- per
#: cell. The density is that of this cell, 2 M(Li7P3S11) / (N_A V) with V = 876.767 A^3
#: (1.872 g/cm3); the experimental cell of Yamane et al. (2007) listed in OBELiX's all.csv
#: (a b c 12.5009 6.0316 12.5303 A, 102.845 113.2024 74.467 deg, ICSD 157654) has V = 829.3
#: A^3 (1.979 g/cm3); its atomic positions could not be read.
LI7P3S11 = Phase(
    name="Li7P3S11",
    formula="Li14P6S22",
    spacegroup=2,
    cellpar=(6.18883800, 12.62787574, 12.67313285, 107.48331704, 103.55243778, 101.86041383),
    basis=(
        ("Li", (0.73546800, 0.66833100, 0.10393200), "1a"),
        ("Li", (0.21349700, 0.03562700, 0.75422200), "1a"),
        ("Li", (0.62351800, 0.34317400, 0.50770200), "1a"),
        ("Li", (0.57664800, 0.86468200, 0.87873100), "1a"),
        ("Li", (0.69638800, 0.17870000, 0.70547200), "1a"),
        ("Li", (0.30361200, 0.82130000, 0.29452800), "1a"),
        ("Li", (0.78650300, 0.96437300, 0.24577800), "1a"),
        ("Li", (0.86272100, 0.38272500, 0.11284100), "1a"),
        ("Li", (0.98591100, 0.68099700, 0.67998500), "1a"),
        ("Li", (0.13727900, 0.61727500, 0.88715900), "1a"),
        ("Li", (0.26453200, 0.33166900, 0.89606800), "1a"),
        ("Li", (0.42335200, 0.13531800, 0.12126900), "1a"),
        ("Li", (0.37648200, 0.65682600, 0.49229800), "1a"),
        ("Li", (0.01408900, 0.31900300, 0.32001500), "1a"),
        ("P", (0.51184900, 0.47554800, 0.27764000), "1a"),
        ("P", (0.83047100, 0.78849000, 0.45443000), "1a"),
        ("P", (0.87665600, 0.16711400, 0.94396700), "1a"),
        ("P", (0.12334400, 0.83288600, 0.05603300), "1a"),
        ("P", (0.48815100, 0.52445200, 0.72236000), "1a"),
        ("P", (0.16952900, 0.21151000, 0.54557000), "1a"),
        ("S", (0.90785000, 0.81641300, 0.31716500), "1a"),
        ("S", (0.20378200, 0.50207900, 0.29503100), "1a"),
        ("S", (0.78096200, 0.60430900, 0.43124300), "1a"),
        ("S", (0.44399800, 0.15975300, 0.51698700), "1a"),
        ("S", (0.56179800, 0.48163200, 0.12777000), "1a"),
        ("S", (0.43820200, 0.51836800, 0.87223000), "1a"),
        ("S", (0.55600200, 0.84024700, 0.48301300), "1a"),
        ("S", (0.10539600, 0.83675200, 0.60133600), "1a"),
        ("S", (0.36384400, 0.97120800, 0.19645000), "1a"),
        ("S", (0.20547200, 0.15431600, 0.94867200), "1a"),
        ("S", (0.57051900, 0.33136800, 0.30713000), "1a"),
        ("S", (0.89460400, 0.16324800, 0.39866400), "1a"),
        ("S", (0.21903800, 0.39569100, 0.56875700), "1a"),
        ("S", (0.82768700, 0.17665700, 0.10104800), "1a"),
        ("S", (0.63615600, 0.02879200, 0.80355000), "1a"),
        ("S", (0.79452800, 0.84568400, 0.05132800), "1a"),
        ("S", (0.09215000, 0.18358700, 0.68283500), "1a"),
        ("S", (0.85534400, 0.31711400, 0.91260400), "1a"),
        ("S", (0.79621800, 0.49792100, 0.70496900), "1a"),
        ("S", (0.42948100, 0.66863200, 0.69287000), "1a"),
        ("S", (0.17231300, 0.82334300, 0.89895200), "1a"),
        ("S", (0.14465600, 0.68288600, 0.08739600), "1a"),
    ),
    density_g_cm3=1.872,
    reference=(
        "Li7P3S11: Materials Project mp-641703 (ordered, PBE-relaxed; CC-BY 4.0), read as the "
        "P1 CIF fxcoudert/topology_databases cif/mp-641703.cif; experimental structure: "
        "Yamane et al., Solid State Ionics (2007), doi:10.1016/j.ssi.2007.05.020 (ICSD 157654), "
        "not used for positions. Density computed from the MP cell, Z = 2, V = 876.767 A^3 "
        "(Yamane cell: 1.979 g/cm3)"
    ),
    basis_spacegroup=1,
)

PHASES = {p.name: p for p in (LI2S, BETA_LI3PS4, LI7P3S11)}


def build(phase: Phase) -> Atoms:
    """Conventional cell of ``phase`` from its space group and atomic positions."""
    symbols = [el for el, _, _ in phase.basis]
    coords = [xyz for _, xyz, _ in phase.basis]
    atoms = crystal(
        symbols,
        basis=coords,
        spacegroup=phase.basis_spacegroup or phase.spacegroup,
        cellpar=list(phase.cellpar),
    )
    atoms.pbc = True
    return atoms


def header(phase: Phase) -> str:
    """Comment block of the shipped CIF: cell, every listed site, density and sources."""
    a, b, c, al, be, ga = phase.cellpar
    listed = phase.basis_spacegroup or phase.spacegroup
    kind = (
        "Wyckoff positions"
        if listed == phase.spacegroup
        else f"sites listed in space group {listed}"
    )
    sites = "".join(f"#   {el} {w} ({x:g}, {y:g}, {z:g})\n" for el, (x, y, z), w in phase.basis)
    return (
        f"# {phase.name}: built by lpsflow.crystals with ase.spacegroup.crystal\n"
        f"# space group {phase.spacegroup}; a b c = {a} {b} {c} A; "
        f"alpha beta gamma = {al} {be} {ga} deg\n"
        f"# {kind}:\n{sites}"
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
