"""Adapter: melt-quench (or NPT-relax a crystal) with the final model (lpsflow.production)."""

import json
from pathlib import Path

from ase.io import read, write

from lpsflow.amorphous import density
from lpsflow.exploration import read_trajectory
from lpsflow.joblog import to_file
from lpsflow.production import (
    ensemble_models,
    melt_quench_input,
    npt_summary,
    production_cell,
    run_npt_or_fallback,
)

log = to_file(snakemake.log[0])
p = snakemake.params
settings = p.production
crystal = p.crystal
cell = production_cell(read(snakemake.input.cell), settings["n_atoms"])
workdir = Path(snakemake.output.devi).parent
models = ensemble_models(snakemake.input.manifest)


def make_input(npt: bool) -> str:
    return melt_quench_input(models, p.type_map, settings, settings["seed"], crystal, npt)


log.info(
    "%s: %d atoms, %s",
    snakemake.wildcards.comp,
    len(cell),
    f"crystal relaxed at {settings['quench_to']} K"
    if crystal
    else f"melt {settings['melt_temperature']} K, quench to {settings['quench_to']} K",
)
npt_failed = run_npt_or_fallback(
    cell, make_input, p.type_map, workdir, log, threads=snakemake.threads
)
glass = read_trajectory(workdir / "glass.dump", p.type_map)[-1]
before = 0 if crystal else settings["melt_steps"] + settings["quench_steps"]
relax = settings["npt_steps"] - settings["npt_steps"] // 2  # then the averaged half
averaged_from = before + settings["anneal_steps"] + relax
state = {
    "composition": snakemake.wildcards.comp,
    "kind": "crystal" if crystal else "glass",
    "temperature_K": settings["quench_to"],
    "pressure_bar": settings["pressure"],
    "start_density_g_cm3": density(cell),
    **npt_summary(workdir, averaged_from),
    "density_g_cm3": density(glass),
    "npt_failed": npt_failed,  # set: the density is the packing density, not a result
}
glass.info.update(
    composition=snakemake.wildcards.comp, kind=state["kind"], density_g_cm3=state["density_g_cm3"]
)
write(snakemake.output.glass, glass, format="extxyz")
json.dump(state, open(snakemake.output.density, "w"), indent=1)
log.info("%s", state)
