"""Adapter: NPT then NVT MD of the production glass with the teacher potential (lpsflow.teacher)."""

import json

from ase.io import read

from lpsflow.dft.mlip import load_calculator
from lpsflow.joblog import to_file
from lpsflow.seeds import derive
from lpsflow.teacher import run_teacher_md

log = to_file(snakemake.log[0])
p = snakemake.params
temperature = float(snakemake.wildcards.temp)
glass = read(snakemake.input.glass)
calc = load_calculator(p.model, threads=snakemake.threads, dispersion=p.dispersion)
log.info(
    "%s at %s K with %s: %d NPT (%g bar) + %d + %d NVT steps of %g fs",
    snakemake.wildcards.comp,
    temperature,
    p.model,
    p.npt_steps,
    p.pressure_bar,
    p.equilibration_steps,
    p.steps,
    p.timestep_fs,
)
speed = run_teacher_md(
    glass,
    calc,
    temperature,
    timestep_fs=p.timestep_fs,
    equilibration_steps=p.equilibration_steps,
    steps=p.steps,
    dump_every=p.dump_every,
    seed=derive(p.seed, temperature=temperature),
    dump_path=snakemake.output.li,
    type_map=p.type_map,
    final_path=snakemake.output.final,
    test_path=snakemake.output.test,
    test_frames=p.test_frames,
    npt_steps=p.npt_steps,
    pressure_bar=p.pressure_bar,
    damping_fs=p.damping_fs,
)
log.info("%s", speed)
json.dump({**speed, "threads": snakemake.threads}, open(snakemake.output.speed, "w"), indent=1)
