"""Production MD with the final model: melt-quenched glass, then NVT runs for Li transport.

LAMMPS uses the compressed model for the dynamics and the whole ensemble for the model
deviation (``pair_style deepmd compressed.pb m1.pb ... out_freq N``), recorded sparsely so
that a run leaving the trusted region is seen. Transport runs write binary DCD trajectories
with unwrapped coordinates (``dump dcd`` + ``dump_modify unwrap yes``, sorted by atom ID, in
the atom order of ``conf.lmp``): ``li.dcd`` (Li group, every ``dump_every`` steps) and
``all.dcd`` (all atoms, every ``dump_all_every`` steps; collective conductivity, structure).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms

from lpsflow.lammps import FS_TO_PS, header
from lpsflow.settings import GlassSettings, RunSettings
from lpsflow.structures import supercell_repeats

THERMO = "thermo_style    custom step temp pe etotal press vol density\n"


def production_cell(cell: Atoms, n_atoms: int) -> Atoms:
    """A sampled cell repeated to about ``n_atoms`` atoms (the melt erases the repetition)."""
    big = cell.repeat(supercell_repeats(cell, n_atoms))
    big.info.update(cell.info)
    return big


def melt_quench_input(models: list[str], type_map: list[str], settings: GlassSettings) -> str:
    """Melt at ``melt_temperature`` (K), quench linearly to ``quench_to`` (NVT), write
    glass.dump; velocities seeded with ``settings.seed``."""
    s = settings
    dt = s.timestep_fs * FS_TO_PS
    t_melt, t_end, seed = s.melt_temperature, s.quench_to, s.seed
    return (
        header(models, type_map, s.devi_every, s.timestep_fs)
        + THERMO
        + f"""thermo          {s.devi_every}
velocity        all create {t_melt} {seed} dist gaussian mom yes rot yes
fix             melt all nvt temp {t_melt} {t_melt} {100 * dt}
run             {s.melt_steps}
unfix           melt
fix             quench all nvt temp {t_melt} {t_end} {100 * dt}
run             {s.quench_steps}
write_dump      all custom glass.dump id type x y z modify sort id
"""
    )


def transport_input(
    models: list[str], type_map: list[str], settings: RunSettings, temperature: float
) -> str:
    """Equilibrate at ``temperature`` (K, NVT), then record unwrapped Li (dense) and
    all-atom (sparse) DCD trajectories.

    Velocities are seeded with ``settings.seed + int(temperature)``.
    """
    s = settings
    dt = s.timestep_fs * FS_TO_PS
    li = type_map.index("Li") + 1
    seed = s.seed + int(temperature)
    return (
        header(models, type_map, s.devi_every, s.timestep_fs)
        + THERMO
        + f"""thermo          {s.devi_every}
group           li type {li}
velocity        all create {temperature} {seed} dist gaussian mom yes rot yes
fix             nvt all nvt temp {temperature} {temperature} {100 * dt}
run             {s.equilibration_steps}
reset_timestep  0
dump            li li dcd {s.dump_every} li.dcd
dump_modify     li unwrap yes
dump            all all dcd {s.dump_all_every} all.dcd
dump_modify     all unwrap yes
run             {s.steps}
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
        "untrusted_fraction": float(np.mean(~(devi < trust_hi))),  # NaN counts as untrusted
    }


def ensemble_models(manifest_path: str | Path) -> list[str]:
    """Compressed model first (drives the MD), then every member (for the deviation)."""
    import json

    root = Path(manifest_path).parent
    manifest = json.loads(Path(manifest_path).read_text())
    graphs = [m for m in manifest["models"] if m.startswith("graph_") and m.endswith(".pb")]
    compressed = [m for m in graphs if "compressed" in m]
    members = [m for m in graphs if "compressed" not in m]
    return [str((root / m).resolve()) for m in compressed + members]


def run_status(workdir: Path, returncode: int, dump: str | None = None) -> dict:
    """Status of a production LAMMPS run in ``workdir``: ``ok``, or ``failed`` with LAMMPS'
    error (lost atoms, a killed process, ...). Cuts ``dump`` and ``model_devi.out`` after
    their last complete record, so what was written before the failure can still be read.
    A failed run is untrusted; the workflow goes on.
    """
    from lpsflow.exploration import complete_dump, complete_model_devi, lammps_error

    frames = complete_dump(workdir / dump) if dump else None
    complete_model_devi(workdir / "model_devi.out")
    reason = ""
    if returncode != 0:
        reason = lammps_error(workdir) or f"LAMMPS ended with exit code {returncode}"
    return {"status": "failed" if reason else "ok", "reason": reason, "frames": frames}
