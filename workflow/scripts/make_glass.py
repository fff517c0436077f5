"""Adapter: melt-quench a production cell with the final model (lpsflow.production)."""

from pathlib import Path

from ase.io import read, write

from lpsflow.exploration import read_trajectory, run_lammps
from lpsflow.joblog import to_file
from lpsflow.production import ensemble_models, melt_quench_input, production_cell

log = to_file(snakemake.log[0])
p = snakemake.params
settings = p.production
cell = production_cell(read(snakemake.input.cell), settings["n_atoms"])
workdir = Path(snakemake.output.devi).parent
seed = settings["seed"] + 1000 * int(snakemake.wildcards.replica)  # own seed per replica
text = melt_quench_input(ensemble_models(snakemake.input.manifest), p.type_map, settings, seed)
log.info(
    "%s replica %s: %d atoms, melt %s K, quench to %s K",
    snakemake.wildcards.comp,
    snakemake.wildcards.replica,
    len(cell),
    settings["melt_temperature"],
    settings["quench_to"],
)
run_lammps(cell, text, p.type_map, workdir, threads=snakemake.threads)
glass = read_trajectory(workdir / "glass.dump", p.type_map)[-1]
glass.info.update(composition=snakemake.wildcards.comp, replica=int(snakemake.wildcards.replica))
write(snakemake.output.glass, glass, format="extxyz")
