"""Adapter: one transport run of a glass replica: NPT, NVT at the mean box, recorded NVT,
extended from its last frame while not diffusive up to production.extend_up_to_ps
(lpsflow.production).

A run that goes wrong is not an error: run_status.json says what happened, the Li positions
and deviations written before it are kept, and the analysis marks the run untrusted.
"""

import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

from ase.io import read

from lpsflow.cost import run_cost
from lpsflow.joblog import to_file
from lpsflow.production import (
    ensemble_models,
    extend_until_diffusive,
    extension_input,
    npt_summary,
    run_npt_or_fallback,
    run_status,
    transport_input,
)
from lpsflow.seeds import derive
from lpsflow.settings import RunSettings, Settings

start = time.monotonic()
log = to_file(snakemake.log[0])
command = Settings.from_config(snakemake.config).explore.command  # LAMMPS: execution
p = snakemake.params
replica = int(snakemake.wildcards.replica)
run = RunSettings.from_params(p.run)
run = replace(run, seed=derive(run.seed, replica=replica))  # + temperature in the input
temperature = float(snakemake.wildcards.temp)
workdir = Path(snakemake.output.lammps_log).parent  # LAMMPS runs here (its log: an output)
models = ensemble_models(snakemake.input.manifest)
glass = read(snakemake.input.glass)
crystal = glass.info.get("kind") == "crystal"

inputs = {
    npt: transport_input(models, p.type_map, run, temperature, crystal, npt)
    for npt in (True, False)
}  # NPT, or the constant-volume fallback

log.info("%s replica %d at %s K: %s", snakemake.wildcards.comp, replica, temperature, run)
npt_failed, code = run_npt_or_fallback(
    glass,
    lambda npt: inputs[npt],
    p.type_map,
    workdir,
    log,
    threads=snakemake.threads,
    command=command,
)
status = run_status(workdir, code)
if status["status"] == "ok" and not npt_failed and run.extend_up_to_ps > 0:
    # not diffusive: continue from the last frame up to production.extend_up_to_ps
    extension = extend_until_diffusive(
        glass,
        lambda steps, restart: extension_input(
            models, p.type_map, run, temperature, steps, restart
        ),
        p.type_map,
        workdir,
        run,
        p.check,
        log,
        threads=snakemake.threads,
        command=command,
    )
    log.info("extension: %s", extension)
    status["extension"] = extension
    if extension["extension_failed"]:
        status.update(status="failed", reason=f"extension: {extension['extension_failed']}")
if npt_failed:  # NVT at the glass volume instead: the run is untrusted
    status.update(status="failed", reason="; ".join(filter(None, [status["reason"], npt_failed])))
if status["status"] != "ok":
    log.warning("MD went wrong (the run is untrusted): %s", status["reason"])
state = {
    "composition": snakemake.wildcards.comp,
    "replica": replica,
    "temperature_K": temperature,
    "pressure_bar": run.pressure,
    "kind": "crystal" if crystal else "glass",
    **npt_summary(workdir, run.npt_steps - run.npt_steps // 2),
    "npt_failed": npt_failed,
}
log.info("%s", state)
json.dump(state, open(snakemake.output.npt, "w"), indent=1)
for name, output in [
    ("li.dcd", snakemake.output.li),  # atom order of the glass (LAMMPS IDs)
    ("all.dcd", snakemake.output.all),
    ("model_devi.out", snakemake.output.devi),
]:
    if (workdir / name).exists():
        shutil.move(workdir / name, output)
    else:  # the run died before writing it: the analysis sees an empty file and the status
        Path(output).touch()
Path(snakemake.output.lammps_log).touch()  # LAMMPS may not have started (the status says)
# what the run cost (atom-steps/s, core-hours): reported beside its result
status["cost"] = run_cost(
    workdir, snakemake.threads, run.timestep_fs, job_wall_s=time.monotonic() - start
)
log.info("cost: %s", status["cost"])
json.dump(status, open(snakemake.output.status, "w"), indent=1)
