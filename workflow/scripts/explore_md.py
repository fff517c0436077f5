"""Adapter: the model-deviation MD runs of one composition and iteration (lpsflow.exploration)."""

from pathlib import Path

from ase.io import read, write

from lpsflow.exploration import read_trajectory, run_schedule, steps_for
from lpsflow.joblog import to_file

log = to_file(snakemake.log[0])
p, wc = snakemake.params, snakemake.wildcards
iteration, explore = int(wc.iter), p.explore
steps = steps_for(iteration, explore["steps"])
log.info("%s: %d jobs of %d steps, %d at a time", wc.comp, len(p.jobs), steps, snakemake.threads)
run_schedule(
    [read(path) for path in snakemake.input.starts],
    p.jobs,
    snakemake.input.models,
    p.type_map,
    Path(snakemake.output.devi[0]).parents[1],
    seed=explore["seed"] + 7919 * iteration + 13 * p.comp_index,
    workers=snakemake.threads,
    steps=steps,
    timestep_fs=explore["timestep_fs"],
    out_freq=explore["out_freq"],
    command=explore["command"],
    relative_level=p.select["relative_level"] if p.select["trust_mode"] == "relative" else None,
)
for dump, final in zip(snakemake.output.traj, snakemake.output.final, strict=True):
    frames = read_trajectory(Path(dump), p.type_map)
    write(final, frames[-1], format="extxyz")
    log.info("%s: %d frames", dump, len(frames))
