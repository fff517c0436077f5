"""Adapter: melt-quench a production cell with the final model (lpsflow.production)."""

from pathlib import Path

from ase.io import read, write

from lpsflow.exploration import read_trajectory, run_lammps
from lpsflow.joblog import to_file
from lpsflow.production import ensemble_models, melt_quench_input, production_cell, run_status

log = to_file(snakemake.log[0])
p = snakemake.params
settings = p.production
cell = production_cell(read(snakemake.input.cell), settings["n_atoms"])
workdir = Path(snakemake.output.devi).parent
text = melt_quench_input(
    ensemble_models(snakemake.input.manifest), p.type_map, settings, settings["seed"]
)
log.info(
    "%s: %d atoms, melt %s K, quench to %s K",
    snakemake.wildcards.comp,
    len(cell),
    settings["melt_temperature"],
    settings["quench_to"],
)
code = run_lammps(cell, text, p.type_map, workdir, threads=snakemake.threads, check=False)
status = run_status(workdir, code, "glass.dump")
if status["frames"]:
    glass = read_trajectory(workdir / "glass.dump", p.type_map)[-1]
else:  # the melt-quench died: go on from the unmelted cell, every run of it is untrusted
    glass = cell.copy()
    glass.info.clear()
if status["status"] != "ok":
    log.warning("melt-quench went wrong (its runs are untrusted): %s", status["reason"])
    glass.info["md_failure"] = f"melt-quench: {status['reason']}"
glass.info.update(composition=snakemake.wildcards.comp)
write(snakemake.output.glass, glass, format="extxyz")
