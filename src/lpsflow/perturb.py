"""Perturbed frames for the initial dataset, as DP-GEN's init_bulk makes them (via dpdata)."""

from __future__ import annotations

import dpdata
import numpy as np
from ase import Atoms


def perturbed_frames(
    atoms: Atoms, n_frames: int, atom_displacement: float, cell_strain_percent: float, seed: int
) -> list[Atoms]:
    """``n_frames`` copies of ``atoms`` with random cell strain and atom displacements.

    ``atom_displacement`` (angstrom) is the scale of dpdata's ``normal`` displacement style;
    ``cell_strain_percent`` bounds each strain component, in percent.
    """
    system = dpdata.System(atoms, fmt="ase/structure")
    state = np.random.get_state()
    np.random.seed(seed)  # dpdata draws from NumPy's global generator
    try:
        perturbed = system.perturb(
            pert_num=n_frames,
            cell_pert_fraction=cell_strain_percent / 100.0,
            atom_pert_distance=atom_displacement,
            atom_pert_style="normal",
        )
    finally:
        np.random.set_state(state)
    frames = perturbed.to("ase/structure")
    for i, frame in enumerate(frames):
        frame.info.update({k: v for k, v in atoms.info.items() if np.isscalar(v)})
        frame.info["frame"] = i
        frame.pbc = True
    return frames
