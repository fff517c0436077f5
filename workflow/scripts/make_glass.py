"""Adapter: melt-quench a production cell with the final model (lpsflow.production)."""

from pathlib import Path

from ase.io import read, write

from lpsflow.exploration import read_trajectory
from lpsflow.joblog import to_file
from lpsflow.lammps import run_lammps
from lpsflow.production import ensemble_models, melt_quench_input, production_cell
from lpsflow.settings import GlassSettings, Settings

log = to_file(snakemake.log[0])
command = Settings.from_config(snakemake.config).explore.command  # LAMMPS: execution
p = snakemake.params
glass_settings = GlassSettings.from_params(p.glass)
cell = production_cell(read(snakemake.input.cell), glass_settings.n_atoms)
workdir = Path(snakemake.output.devi).parent
text = melt_quench_input(ensemble_models(snakemake.input.manifest), p.type_map, glass_settings)
log.info("%s: %d atoms, %s", snakemake.wildcards.comp, len(cell), glass_settings)
run_lammps(cell, text, p.type_map, workdir, threads=snakemake.threads, command=command)
glass = read_trajectory(workdir / "glass.dump", p.type_map)[-1]
glass.info.update(composition=snakemake.wildcards.comp)
write(snakemake.output.glass, glass, format="extxyz")
