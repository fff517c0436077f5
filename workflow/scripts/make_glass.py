"""Adapter: melt-quench (NPT: the density is a result) or NPT relaxation of a crystal, one
replica of a composition (lpsflow.production).

MD that goes wrong is not an error: the glass is the last frame written (or the unmelted
cell) with ``md_failure`` set, and every run of it is untrusted.
"""

import json
from dataclasses import replace
from pathlib import Path

from ase.io import read, write

from lpsflow.amorphous import density
from lpsflow.joblog import to_file
from lpsflow.lammps_output import read_trajectory
from lpsflow.production import (
    ensemble_models,
    melt_quench_input,
    npt_summary,
    production_cell,
    run_npt_or_fallback,
    run_status,
)
from lpsflow.seeds import derive
from lpsflow.settings import GlassSettings, Settings

log = to_file(snakemake.log[0])
command = Settings.from_config(snakemake.config).explore.command  # LAMMPS: execution
p = snakemake.params
crystal = p.crystal
replica = int(snakemake.wildcards.replica)
settings = GlassSettings.from_params(p.glass)
settings = replace(settings, seed=derive(settings.seed, replica=replica))
cell = production_cell(read(snakemake.input.cell), settings.n_atoms)
workdir = Path(snakemake.output.devi).parent
models = ensemble_models(snakemake.input.manifest)

inputs = {
    npt: melt_quench_input(models, p.type_map, settings, crystal, npt) for npt in (True, False)
}  # NPT, or the constant-volume fallback

log.info(
    "%s replica %d: %d atoms, %s",
    snakemake.wildcards.comp,
    replica,
    len(cell),
    f"crystal relaxed at {settings.quench_to} K"
    if crystal
    else f"melt {settings.melt_temperature} K, quench to {settings.quench_to} K",
)
npt_failed, code = run_npt_or_fallback(
    cell,
    lambda npt: inputs[npt],
    p.type_map,
    workdir,
    log,
    threads=snakemake.threads,
    command=command,
)
status = run_status(workdir, code, "glass.dump")
if status["frames"]:
    glass = read_trajectory(workdir / "glass.dump", p.type_map)[-1]
else:  # the melt-quench died: go on from the unmelted cell, every run of it is untrusted
    glass = cell.copy()
    glass.info.clear()
if status["status"] != "ok":
    log.warning("melt-quench went wrong (its runs are untrusted): %s", status["reason"])
    glass.info["md_failure"] = f"melt-quench: {status['reason']}"
before = 0 if crystal else settings.melt_steps + settings.quench_steps
relax = settings.npt_steps - settings.npt_steps // 2  # then the averaged half
state = {
    "composition": snakemake.wildcards.comp,
    "replica": replica,
    "kind": "crystal" if crystal else "glass",
    "quench_rate_K_ps": None if crystal else settings.quench_rate,
    "temperature_K": settings.quench_to,
    "pressure_bar": settings.pressure,
    "start_density_g_cm3": density(cell),
    **npt_summary(workdir, before + settings.anneal_steps + relax),
    "density_g_cm3": density(glass),
    "npt_failed": npt_failed,  # set: the density is the packing density, not a result
}
log.info("%s", state)
glass.info.update(
    composition=snakemake.wildcards.comp,
    replica=replica,
    kind=state["kind"],
    density_g_cm3=state["density_g_cm3"],
)
write(snakemake.output.glass, glass, format="extxyz")
json.dump(state, open(snakemake.output.density, "w"), indent=1)
if not Path(snakemake.output.quench).exists():  # a crystal (no quench) or a run that died
    Path(snakemake.output.quench).touch()
