"""Adapter: one shipped crystal (lpsflow.crystals) relaxed by anisotropic NPT at
production.quench_to and production.pressure with the final model; its mean density is
compared with the measured one (lpsflow.glass_density)."""

import json
from pathlib import Path

from ase.io import read

from lpsflow.amorphous import density
from lpsflow.joblog import to_file
from lpsflow.production import (
    ensemble_models,
    melt_quench_input,
    npt_summary,
    production_cell,
    run_npt_or_fallback,
    run_status,
)
from lpsflow.settings import GlassSettings, Settings

log = to_file(snakemake.log[0])
command = Settings.from_config(snakemake.config).explore.command  # LAMMPS: execution
p = snakemake.params
settings = GlassSettings.from_params(p.glass)
cell = production_cell(read(snakemake.input.cell), settings.n_atoms)
workdir = Path(snakemake.output.devi).parent
models = ensemble_models(snakemake.input.manifest)
inputs = {npt: melt_quench_input(models, p.type_map, settings, True, npt) for npt in (True, False)}
log.info("%s: %d atoms, NPT at %s K", snakemake.wildcards.phase, len(cell), settings.quench_to)
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
relax = settings.npt_steps - settings.npt_steps // 2  # then the averaged half
state = {
    "phase": snakemake.wildcards.phase,
    "kind": "crystal",
    "n_atoms": len(cell),
    "temperature_K": settings.quench_to,
    "pressure_bar": settings.pressure,
    "start_density_g_cm3": density(cell),
    **npt_summary(workdir, settings.anneal_steps + relax),
    "npt_failed": npt_failed,
    "status": status["status"],
    "reason": status["reason"],
}
if status["status"] != "ok":
    log.warning("crystal NPT went wrong: %s", status["reason"])
    state["npt_failed"] = state["npt_failed"] or status["reason"]
log.info("%s", state)
json.dump(state, open(snakemake.output.density, "w"), indent=1)
