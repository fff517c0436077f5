"""Adapter: one NVT transport run of a glass (lpsflow.production)."""

import shutil
from pathlib import Path

from ase.io import read

from lpsflow.joblog import to_file
from lpsflow.lammps import run_lammps
from lpsflow.production import ensemble_models, transport_input
from lpsflow.settings import RunSettings, Settings

log = to_file(snakemake.log[0])
command = Settings.from_config(snakemake.config).explore.command  # LAMMPS: execution
p = snakemake.params
run = RunSettings.from_params(p.run)
temperature = float(snakemake.wildcards.temp)
workdir = Path(snakemake.output.devi).parent / "md"
models = ensemble_models(snakemake.input.manifest)
text = transport_input(models, p.type_map, run, temperature)
log.info("%s at %s K: %s", snakemake.wildcards.comp, temperature, run)
run_lammps(
    read(snakemake.input.glass),
    text,
    p.type_map,
    workdir,
    threads=snakemake.threads,
    command=command,
)
shutil.move(workdir / "li.dump", snakemake.output.li)
shutil.move(workdir / "model_devi.out", snakemake.output.devi)
