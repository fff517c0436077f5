"""Production MD with the final model: melt-quenched glass, then NVT runs for Li transport.

LAMMPS uses the compressed model for the dynamics and the whole ensemble for the model
deviation (``pair_style deepmd compressed.pb m1.pb ... out_freq N``), recorded sparsely so
that a run leaving the trusted region is seen. Li positions are dumped unwrapped (xu yu zu).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms

from lpsflow.structures import supercell_repeats

FS_TO_PS = 1e-3


def production_cell(cell: Atoms, n_atoms: int) -> Atoms:
    """A sampled cell repeated to about ``n_atoms`` atoms (the melt erases the repetition)."""
    big = cell.repeat(supercell_repeats(cell, n_atoms))
    big.info.update(cell.info)
    return big


def _header(models: list[str], type_map: list[str], devi_every: int, dt_ps: float) -> str:
    return f"""units           metal
boundary        p p p
atom_style      atomic
atom_modify     map yes
read_data       conf.lmp
pair_style      deepmd {" ".join(models)} out_freq {devi_every} out_file model_devi.out
pair_coeff      * * {" ".join(type_map)}
neighbor        1.0 bin
timestep        {dt_ps}
thermo_style    custom step temp pe etotal press vol density
thermo          {devi_every}
"""


def melt_quench_input(models: list[str], type_map: list[str], settings: dict, seed: int) -> str:
    """Melt at ``melt_temperature``, quench linearly to ``quench_to`` (NVT), write glass.dump."""
    dt = settings["timestep_fs"] * FS_TO_PS
    t_melt, t_end = settings["melt_temperature"], settings["quench_to"]
    return (
        _header(models, type_map, settings["devi_every"], dt)
        + f"""velocity        all create {t_melt} {seed} dist gaussian mom yes rot yes
fix             melt all nvt temp {t_melt} {t_melt} {100 * dt}
run             {settings["melt_steps"]}
unfix           melt
fix             quench all nvt temp {t_melt} {t_end} {100 * dt}
run             {settings["quench_steps"]}
write_dump      all custom glass.dump id type x y z modify sort id
"""
    )


def transport_input(
    models: list[str], type_map: list[str], settings: dict, temperature: float, seed: int
) -> str:
    """Equilibrate at ``temperature`` (NVT), then record unwrapped Li positions."""
    dt = settings["timestep_fs"] * FS_TO_PS
    li = type_map.index("Li") + 1
    return (
        _header(models, type_map, settings["devi_every"], dt)
        + f"""group           li type {li}
velocity        all create {temperature} {seed} dist gaussian mom yes rot yes
fix             nvt all nvt temp {temperature} {temperature} {100 * dt}
run             {settings["equilibration_steps"]}
reset_timestep  0
dump            li li custom {settings["dump_every"]} li.dump id type xu yu zu
dump_modify     li sort id
run             {settings["steps"]}
"""
    )


def deviation_summary(model_devi: Path, trust_hi: float) -> dict:
    """Largest force deviation and the fraction of records at or above ``trust_hi``."""
    from lpsflow.selection import read_model_devi

    devi = read_model_devi(model_devi)["max_devi_f"].to_numpy(float)
    if not len(devi):
        return {"devi_records": 0, "max_devi_f": float("nan"), "untrusted_fraction": float("nan")}
    return {
        "devi_records": int(len(devi)),
        "max_devi_f": float(devi.max()),
        "untrusted_fraction": float(np.mean(devi >= trust_hi)),
    }


def ensemble_models(manifest_path: str | Path) -> list[str]:
    """The models of ``pair_style deepmd``: each ensemble member exactly once.

    The first drives the MD; the deviation is taken over all listed models. When the
    manifest holds ``graph_<m>_compressed.pb`` (a compressed copy of member m), it replaces
    member m (first, as the faster driver); listing both would count member m twice and
    bias the deviation low.
    """
    import json

    root = Path(manifest_path).parent
    manifest = json.loads(Path(manifest_path).read_text())
    graphs = [m for m in manifest["models"] if m.startswith("graph_") and m.endswith(".pb")]
    compressed = {m.removesuffix("_compressed.pb") + ".pb": m for m in graphs if "compressed" in m}
    members = [m for m in graphs if "compressed" not in m]
    ordered = [compressed[m] for m in members if m in compressed]
    ordered += [m for m in members if m not in compressed]
    return [str((root / m).resolve()) for m in ordered]
