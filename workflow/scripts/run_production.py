"""Adapter: one transport run (NPT, NVT at the mean box, recorded NVT; lpsflow.production)."""

import json
import shutil
from pathlib import Path

from ase.io import read

from lpsflow.joblog import to_file
from lpsflow.production import ensemble_models, npt_summary, run_npt_or_fallback, transport_input

log = to_file(snakemake.log[0])
p = snakemake.params
settings = p.production
temperature = float(snakemake.wildcards.temp)
workdir = Path(snakemake.output.devi).parent / "md"
models = ensemble_models(snakemake.input.manifest)
seed = settings["seed"] + int(temperature)
glass = read(snakemake.input.glass)
crystal = glass.info.get("kind") == "crystal"


def make_input(npt: bool) -> str:
    return transport_input(models, p.type_map, settings, temperature, seed, crystal, npt)


log.info("%s at %s K: %d steps", snakemake.wildcards.comp, temperature, settings["steps"])
npt_failed = run_npt_or_fallback(
    glass, make_input, p.type_map, workdir, log, threads=snakemake.threads
)
state = {
    "composition": snakemake.wildcards.comp,
    "temperature_K": temperature,
    "pressure_bar": settings["pressure"],
    "kind": "crystal" if crystal else "glass",
    **npt_summary(workdir, settings["npt_steps"] - settings["npt_steps"] // 2),
    "npt_failed": npt_failed,  # set: NVT at the glass volume instead, the run is untrusted
}
log.info("%s", state)
json.dump(state, open(snakemake.output.npt, "w"), indent=1)
shutil.move(workdir / "li.dump", snakemake.output.li)
shutil.move(workdir / "all.dump", snakemake.output.frames)
shutil.move(workdir / "model_devi.out", snakemake.output.devi)
