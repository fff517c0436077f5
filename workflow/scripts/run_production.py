"""Adapter: one NVT transport run of a glass replica (lpsflow.production)."""

import shutil
from pathlib import Path

from ase.io import read

from lpsflow.exploration import run_lammps
from lpsflow.joblog import to_file
from lpsflow.production import ensemble_models, transport_input

log = to_file(snakemake.log[0])
p = snakemake.params
temperature = float(snakemake.wildcards.temp)
workdir = Path(snakemake.output.devi).parent / "md"
models = ensemble_models(snakemake.input.manifest)
replica = int(snakemake.wildcards.replica)
seed = p.production["seed"] + 1000 * replica + int(temperature)  # own seeds per replica
text = transport_input(models, p.type_map, p.production, temperature, seed)
log.info("%s at %s K: %d steps", snakemake.wildcards.comp, temperature, p.production["steps"])
run_lammps(read(snakemake.input.glass), text, p.type_map, workdir, threads=snakemake.threads)
shutil.move(workdir / "li.dcd", snakemake.output.li)  # atom order of the glass (IDs)
shutil.move(workdir / "all.dcd", snakemake.output.all)
shutil.move(workdir / "model_devi.out", snakemake.output.devi)
