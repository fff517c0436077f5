"""Adapter: one model-deviation MD job (lpsflow.exploration)."""

from pathlib import Path

from ase.io import read, write

from lpsflow.exploration import read_trajectory, run_md, steps_for
from lpsflow.joblog import to_file

log = to_file(snakemake.log[0])
p, wc = snakemake.params, snakemake.wildcards
iteration, job_index = int(wc.iter), int(wc.job)
explore, job = p.explore, p.jobs[job_index]
relative = p.select["relative_level"] if p.select["trust_mode"] == "relative" else None
workdir = Path(snakemake.output.devi).parent
steps = steps_for(iteration, explore["steps"])
log.info("%s job %d %s: %d steps", wc.comp, job_index, job, steps)
run_md(
    read(snakemake.input.start),
    job,
    snakemake.input.models,
    p.type_map,
    workdir,
    steps=steps,
    timestep_fs=explore["timestep_fs"],
    out_freq=explore["out_freq"],
    seed=explore["seed"] + 7919 * iteration + 101 * job_index + p.comp_index,
    threads=snakemake.threads,
    command=explore["command"],
    relative_level=relative,
)
frames = read_trajectory(Path(snakemake.output.traj), p.type_map)
write(snakemake.output.final, frames[-1], format="extxyz")
log.info("%d frames written", len(frames))
