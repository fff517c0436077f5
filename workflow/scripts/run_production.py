"""Adapter: one NVT transport run of a glass (lpsflow.production).

A run that goes wrong is not an error: status.json says what happened, the Li positions
and deviations written before it are kept, and the analysis marks the run untrusted.
"""

import json
import shutil
from pathlib import Path

from ase.io import read

from lpsflow.exploration import run_lammps
from lpsflow.joblog import to_file
from lpsflow.production import ensemble_models, run_status, transport_input

log = to_file(snakemake.log[0])
p = snakemake.params
temperature = float(snakemake.wildcards.temp)
workdir = Path(snakemake.output.devi).parent / "md"
models = ensemble_models(snakemake.input.manifest)
seed = p.production["seed"] + int(temperature)
text = transport_input(models, p.type_map, p.production, temperature, seed)
log.info("%s at %s K: %d steps", snakemake.wildcards.comp, temperature, p.production["steps"])
code = run_lammps(
    read(snakemake.input.glass), text, p.type_map, workdir, threads=snakemake.threads, check=False
)
status = run_status(workdir, code, "li.dump")
if status["status"] != "ok":
    log.warning("MD went wrong (the run is untrusted): %s", status["reason"])
shutil.move(workdir / "li.dump", snakemake.output.li)
shutil.move(workdir / "model_devi.out", snakemake.output.devi)
json.dump(status, open(snakemake.output.status, "w"), indent=1)
