"""Accuracy of a frozen DeePMD model on labelled deepmd/npy systems."""

from __future__ import annotations

import dpdata
import numpy as np


def predict(graph: str, system: dpdata.LabeledSystem) -> dict:
    """DeePMD predictions (eV, eV/angstrom) for every frame of ``system``."""
    from deepmd.infer import DeepPot

    model = DeepPot(graph)
    type_map = model.get_type_map()
    index = [type_map.index(name) for name in system["atom_names"]]
    atom_types = np.array(index)[system["atom_types"]]
    e, f, v = model.eval(
        system["coords"].reshape(len(system), -1),
        system["cells"].reshape(len(system), -1),
        atom_types,
    )
    return {
        "energies": e.reshape(-1),
        "forces": f.reshape(len(system), -1, 3),
        "virials": v.reshape(len(system), 3, 3),
    }


def errors(graph: str, systems: list[dpdata.LabeledSystem]) -> dict:
    """RMSE of energy per atom (eV/atom), force components (eV/A), virial per atom (eV/atom)."""
    de, df, dv = [], [], []
    for system in systems:
        pred = predict(graph, system)
        n = system.get_natoms()
        de.append((pred["energies"] - system["energies"]) / n)
        df.append((pred["forces"] - system["forces"]).ravel())
        if "virials" in system.data:
            dv.append(((pred["virials"] - system["virials"]) / n).ravel())
    if not de:
        return {"frames": 0, "rmse_e": np.nan, "rmse_f": np.nan, "rmse_v": np.nan}

    def rmse(parts):
        return float(np.sqrt(np.mean(np.concatenate(parts) ** 2))) if parts else np.nan

    return {
        "frames": int(sum(len(x) for x in de)),
        "rmse_e": rmse(de),
        "rmse_f": rmse(df),
        "rmse_v": rmse(dv),
    }


def frame_features(graph: str, frames: list, type_map: list[str]) -> np.ndarray:
    """Per-frame structural fingerprint from the model's own descriptor.

    For each element of ``type_map``, the mean descriptor of its atoms (zeros if absent),
    concatenated: frames that the model sees alike are close in this space.
    """
    from deepmd.infer import DeepPot

    model = DeepPot(graph)
    model_types = model.get_type_map()
    rows = []
    for atoms in frames:
        types = np.array([model_types.index(s) for s in atoms.get_chemical_symbols()])
        desc = model.eval_descriptor(
            atoms.positions.reshape(1, -1), np.asarray(atoms.cell).reshape(1, -1), types
        )[0]
        parts = []
        for t, _ in enumerate(type_map):
            mask = types == t
            parts.append(desc[mask].mean(axis=0) if mask.any() else np.zeros(desc.shape[1]))
        rows.append(np.concatenate(parts))
    return np.array(rows)
