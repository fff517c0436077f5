"""Adapter: one NVT transport run of a glass replica (lpsflow.production).

A run that goes wrong is not an error: status.json says what happened, the Li positions
and deviations written before it are kept, and the analysis marks the run untrusted.
"""

import json
import shutil
from dataclasses import replace
from pathlib import Path

from ase.io import read

from lpsflow.joblog import to_file
from lpsflow.lammps import run_lammps
from lpsflow.production import ensemble_models, run_status, transport_input
from lpsflow.settings import RunSettings, Settings

log = to_file(snakemake.log[0])
command = Settings.from_config(snakemake.config).explore.command  # LAMMPS: execution
p = snakemake.params
run = RunSettings.from_params(p.run)
temperature = float(snakemake.wildcards.temp)
workdir = Path(snakemake.output.devi).parent / "md"
models = ensemble_models(snakemake.input.manifest)
replica = int(snakemake.wildcards.replica)
run = replace(run, seed=run.seed + 1000 * replica)  # own seeds per replica (+ T in the input)
text = transport_input(models, p.type_map, run, temperature)
log.info("%s replica %d at %s K: %s", snakemake.wildcards.comp, replica, temperature, run)
code = run_lammps(
    read(snakemake.input.glass),
    text,
    p.type_map,
    workdir,
    threads=snakemake.threads,
    command=command,
    check=False,
)
status = run_status(workdir, code)
if status["status"] != "ok":
    log.warning("MD went wrong (the run is untrusted): %s", status["reason"])
for name, output in [
    ("li.dcd", snakemake.output.li),  # atom order of the glass (LAMMPS IDs)
    ("all.dcd", snakemake.output.all),
    ("model_devi.out", snakemake.output.devi),
]:
    if (workdir / name).exists():
        shutil.move(workdir / name, output)
    else:  # the run died before writing it: the analysis sees an empty file and the status
        Path(output).touch()
json.dump(status, open(snakemake.output.status, "w"), indent=1)
