"""Adapter: the model-deviation MD runs of one composition and iteration (lpsflow.exploration)."""

from pathlib import Path

from ase.io import read, write

from lpsflow.exploration import read_trajectory, run_schedule, steps_for
from lpsflow.joblog import to_file
from lpsflow.settings import ExploreMd, Settings

log = to_file(snakemake.log[0])
p, wc = snakemake.params, snakemake.wildcards
md = ExploreMd.from_params(p.md)
command = Settings.from_config(snakemake.config).explore.command  # execution, not a param
iteration = int(wc.iter)
steps = steps_for(iteration, md.steps)
log.info("%s: %d jobs of %d steps, %d at a time", wc.comp, len(p.jobs), steps, snakemake.threads)
run_schedule(
    [read(path) for path in snakemake.input.starts],
    p.jobs,
    snakemake.input.models,
    p.type_map,
    Path(snakemake.output.devi[0]).parents[1],
    seed=md.seed + 7919 * iteration + 13 * p.comp_index,
    workers=snakemake.threads,
    steps=steps,
    timestep_fs=md.timestep_fs,
    out_freq=md.out_freq,
    command=command,
    relative_level=p.relative_level,
)
for dump, final in zip(snakemake.output.traj, snakemake.output.final, strict=True):
    frames = read_trajectory(Path(dump), p.type_map)
    write(final, frames[-1], format="extxyz")
    log.info("%s: %d frames", dump, len(frames))
