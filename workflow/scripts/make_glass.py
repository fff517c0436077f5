"""Adapter: melt-quench a production cell with the final model (lpsflow.production)."""

from dataclasses import replace
from pathlib import Path

from ase.io import read, write

from lpsflow.exploration import read_trajectory
from lpsflow.joblog import to_file
from lpsflow.lammps import run_lammps
from lpsflow.production import ensemble_models, melt_quench_input, production_cell, run_status
from lpsflow.settings import GlassSettings, Settings

log = to_file(snakemake.log[0])
command = Settings.from_config(snakemake.config).explore.command  # LAMMPS: execution
p = snakemake.params
glass_settings = GlassSettings.from_params(p.glass)
cell = production_cell(read(snakemake.input.cell), glass_settings.n_atoms)
workdir = Path(snakemake.output.devi).parent
replica = int(snakemake.wildcards.replica)
glass_settings = replace(glass_settings, seed=glass_settings.seed + 1000 * replica)  # own seed
text = melt_quench_input(ensemble_models(snakemake.input.manifest), p.type_map, glass_settings)
log.info(
    "%s replica %d: %d atoms, %s", snakemake.wildcards.comp, replica, len(cell), glass_settings
)
code = run_lammps(
    cell, text, p.type_map, workdir, threads=snakemake.threads, command=command, check=False
)
status = run_status(workdir, code, "glass.dump")
if status["frames"]:
    glass = read_trajectory(workdir / "glass.dump", p.type_map)[-1]
else:  # the melt-quench died: go on from the unmelted cell, every run of it is untrusted
    glass = cell.copy()
    glass.info.clear()
if status["status"] != "ok":
    log.warning("melt-quench went wrong (its runs are untrusted): %s", status["reason"])
    glass.info["md_failure"] = f"melt-quench: {status['reason']}"
glass.info.update(composition=snakemake.wildcards.comp, replica=replica)
write(snakemake.output.glass, glass, format="extxyz")
