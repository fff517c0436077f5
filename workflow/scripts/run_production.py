"""Adapter: one NVT transport run of a glass (lpsflow.production)."""

import shutil
from pathlib import Path

from ase.io import read

from lpsflow.exploration import run_lammps
from lpsflow.joblog import to_file
from lpsflow.production import ensemble_models, transport_input
from lpsflow.settings import RunSettings

log = to_file(snakemake.log[0])
p = snakemake.params
run = RunSettings.from_params(p.run)
temperature = float(snakemake.wildcards.temp)
workdir = Path(snakemake.output.devi).parent / "md"
models = ensemble_models(snakemake.input.manifest)
text = transport_input(models, p.type_map, run, temperature)
log.info("%s at %s K: %s", snakemake.wildcards.comp, temperature, run)
run_lammps(read(snakemake.input.glass), text, p.type_map, workdir, threads=snakemake.threads)
shutil.move(workdir / "li.dump", snakemake.output.li)
shutil.move(workdir / "model_devi.out", snakemake.output.devi)
