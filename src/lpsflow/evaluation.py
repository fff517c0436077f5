"""Accuracy of a frozen DeePMD model on labelled deepmd/npy systems."""

from __future__ import annotations

import dpdata
import numpy as np
from ase import units


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


def pressure_differences(
    predicted_virials: np.ndarray, label_virials: np.ndarray, cells: np.ndarray
) -> np.ndarray:
    """Per frame, the model's static pressure minus the label's, GPa: trace(virial) / (3 V)
    (dpdata's and DeePMD's virial = -stress x V). The kinetic term is the same for both on the
    same frame and cancels."""
    volumes = np.abs(np.linalg.det(np.asarray(cells).reshape(-1, 3, 3)))
    diff = np.asarray(predicted_virials).reshape(-1, 3, 3) - np.asarray(label_virials).reshape(
        -1, 3, 3
    )
    return np.trace(diff, axis1=1, axis2=2) / 3 / volumes / units.GPa


def pressure_bias(differences: np.ndarray) -> dict:
    """Mean of per-frame pressure differences (GPa) and its standard error over frames
    (ddof 1; NaN below 2 frames). Paired on the same frames, so it resolves an equation-of-
    state bias far more sharply than two NPT volumes of a small cell do."""
    d = np.asarray(differences, dtype=float).ravel()
    if d.size == 0:
        return {"bias_p_GPa": np.nan, "bias_p_err_GPa": np.nan}
    err = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else np.nan
    return {"bias_p_GPa": float(d.mean()), "bias_p_err_GPa": err}


def errors(graph: str, systems: list[dpdata.LabeledSystem], pressure: bool = False) -> dict:
    """RMSE of energy per atom (eV/atom), force components (eV/A), virial per atom (eV/atom);
    with ``pressure``, also the model's mean static pressure error on these frames and its
    standard error (:func:`pressure_bias`, GPa; NaN without virial labels)."""
    de, df, dv, dp = [], [], [], []
    for system in systems:
        pred = predict(graph, system)
        n = system.get_natoms()
        de.append((pred["energies"] - system["energies"]) / n)
        df.append((pred["forces"] - system["forces"]).ravel())
        if "virials" in system.data:
            dv.append(((pred["virials"] - system["virials"]) / n).ravel())
            dp.append(pressure_differences(pred["virials"], system["virials"], system["cells"]))
    if not de:
        out = {"frames": 0, "rmse_e": np.nan, "rmse_f": np.nan, "rmse_v": np.nan}
        return {**out, **pressure_bias([])} if pressure else out

    def rmse(parts):
        return float(np.sqrt(np.mean(np.concatenate(parts) ** 2))) if parts else np.nan

    out = {
        "frames": int(sum(len(x) for x in de)),
        "rmse_e": rmse(de),
        "rmse_f": rmse(df),
        "rmse_v": rmse(dv),
    }
    if pressure:
        out.update(pressure_bias(np.concatenate(dp) if dp else []))
    return out


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
