"""Random close packing of rigid anion units and ions into a periodic cubic cell.

Units (PS4 3-, P2S7 4-, P2S6 2-, hypo P2S6 4-) are placed largest first with random
orientations, then the monatomic anions and atoms (S 2-, elemental S, X-), then Li+; each
trial position is accepted only if every new atom keeps the minimum distances to all atoms
already placed (minimum image). Reproducible from a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from scipy.spatial.transform import Rotation

from lpsflow.anions import UNIT_BUILDERS, substitute_oxygen, terminal_sulfur
from lpsflow.stoichiometry import Stoichiometry

AMU_PER_A3_TO_G_PER_CM3 = 1.66053906660  # 1 amu/angstrom^3 = 1.6605 g/cm^3


@dataclass(frozen=True)
class MinDistances:
    """Minimum interatomic distances (angstrom) between atoms of different units."""

    li: float = 1.8  # Li+ to anything
    anion: float = 2.8  # atom of one anion unit or ion to atom of another (S-S, P-S, ...)


class PackingError(RuntimeError):
    """Raised when the units do not fit at the requested density."""


def cell_length(masses_amu: float, density_g_cm3: float) -> float:
    """Edge (angstrom) of the cube holding ``masses_amu`` at ``density_g_cm3``."""
    return (masses_amu * AMU_PER_A3_TO_G_PER_CM3 / density_g_cm3) ** (1.0 / 3.0)


def density(atoms: Atoms) -> float:
    """Mass density of a periodic cell in g/cm^3."""
    return atoms.get_masses().sum() * AMU_PER_A3_TO_G_PER_CM3 / atoms.get_volume()


def _min_image_dist(new: np.ndarray, old: np.ndarray, length: float) -> np.ndarray:
    """Distances (n_new, n_old) in a cube of edge ``length`` by minimum image."""
    d = new[:, None, :] - old[None, :, :]
    d -= length * np.round(d / length)
    return np.linalg.norm(d, axis=-1)


def build_units(stoich: Stoichiometry, oxygen_fraction: float, rng: np.random.Generator) -> list:
    """Atoms objects for every anion unit and ion (no Li), with O substituted if asked."""
    units = []
    for name in ("P2S7", "P2S6", "P2S6_hypo", "PS4"):
        units += [UNIT_BUILDERS[name]() for _ in range(stoich.units.get(name, 0))]
    # sulfide S 2- and elemental S0 (left by hypo units) are both single S atoms here
    n_s = stoich.units.get("S", 0) + stoich.units.get("S0", 0)
    units += [Atoms("S", positions=[[0, 0, 0]]) for _ in range(n_s)]
    if stoich.units.get("X"):
        units += [Atoms(stoich.halide, positions=[[0, 0, 0]]) for _ in range(stoich.units["X"])]
    if oxygen_fraction > 0:
        n_s_bound = sum(u.get_chemical_symbols().count("S") for u in units if "P" in u.symbols)
        n_o = int(round(oxygen_fraction * n_s_bound))
        sites = [
            (k, i) for k, u in enumerate(units) if "P" in u.symbols for i in terminal_sulfur(u)
        ]
        if n_o > len(sites):
            raise ValueError(
                f"oxygen_fraction needs {n_o} O but only {len(sites)} terminal S exist"
            )
        for idx in rng.choice(len(sites), size=n_o, replace=False):
            k, i = sites[idx]
            substitute_oxygen(units[k], i)
    return units


def pack(
    stoich: Stoichiometry,
    density_g_cm3: float,
    seed: int,
    oxygen_fraction: float = 0.0,
    min_dist: MinDistances = MinDistances(),
    max_sweeps: int = 400,
    max_restarts: int = 20,
) -> Atoms:
    """Amorphous periodic cell of ``stoich`` at ``density_g_cm3`` (g/cm^3), from ``seed``."""
    rng = np.random.default_rng(seed)
    for _ in range(max_restarts):
        units = build_units(stoich, oxygen_fraction, rng)
        units += [Atoms("Li", positions=[[0, 0, 0]]) for _ in range(stoich.n_li)]
        mass = sum(u.get_masses().sum() for u in units)
        length = cell_length(mass, density_g_cm3)
        placed = _try_pack(units, length, min_dist, rng, max_sweeps)
        if placed is not None:
            return placed
    raise PackingError(
        f"could not place {stoich.n_atoms} atoms at {density_g_cm3} g/cm3 with minimum distances "
        f"{min_dist}; lower the density or the distances, or use a larger cell"
    )


def _try_pack(units, length, min_dist, rng, max_sweeps) -> Atoms | None:
    """Random placement, then Monte Carlo rigid-unit moves until no distance is too short.

    Each move translates and rotates one overlapping unit about its centre and is kept only
    if it lowers that unit's overlap penalty sum(max(0, d_min - d)^2).
    """
    local = [u.positions - u.positions.mean(axis=0) for u in units]
    owner = np.concatenate([[k] * len(u) for k, u in enumerate(units)])
    symbols = [s for u in units for s in u.get_chemical_symbols()]
    is_li = np.array([s == "Li" for s in symbols])
    centres = rng.uniform(0.0, length, size=(len(units), 3))
    rots = [Rotation.random(random_state=rng) if len(u) > 1 else Rotation.identity() for u in units]
    positions = np.vstack(
        [lc @ r.as_matrix().T + c for lc, r, c in zip(local, rots, centres, strict=True)]
    )
    members = [np.flatnonzero(owner == k) for k in range(len(units))]

    def penalty(k: int, trial: np.ndarray) -> float:
        others = owner != k
        d = _min_image_dist(trial, positions[others], length)
        need = np.where(
            is_li[members[k]][:, None] | is_li[others][None, :], min_dist.li, min_dist.anion
        )
        return float(np.sum(np.clip(need - d, 0.0, None) ** 2))

    current = np.array([penalty(k, positions[members[k]]) for k in range(len(units))])
    for _ in range(max_sweeps * len(units)):
        bad = np.flatnonzero(current > 0.0)
        if not len(bad):
            atoms = Atoms(symbols, positions=positions, cell=[length] * 3, pbc=True)
            atoms.wrap()
            return atoms
        k = int(rng.choice(bad))
        step = rng.normal(0.0, 0.4, size=3)
        spin = Rotation.from_rotvec(rng.normal(0.0, 0.3, size=3)) if len(units[k]) > 1 else None
        old = positions[members[k]]
        centre = old.mean(axis=0)
        trial = old - centre
        if spin is not None:
            trial = trial @ spin.as_matrix().T
        trial = trial + centre + step
        p = penalty(k, trial)
        if p < current[k]:
            positions[members[k]] = trial
            current[k] = p
            # the moved unit changes its neighbours' penalties; refresh those it touches
            near = np.unique(
                owner[
                    np.any(
                        _min_image_dist(positions, np.vstack([old, trial]), length)
                        < max(min_dist.li, min_dist.anion) + 0.5,
                        axis=1,
                    )
                ]
            )
            for j in near:
                current[j] = penalty(int(j), positions[members[j]])
    return None
