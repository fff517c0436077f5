"""Adapter: the model-deviation MD runs of one composition and iteration (lpsflow.exploration).

MD that goes wrong is recorded, not raised: each job's status.json says what happened and
how many records were kept; final.extxyz is the last frame below trust_lo (the next
iteration's start).
"""

import json
from pathlib import Path

from ase.io import read, write

from lpsflow.exploration import check_run, restart_frame, run_schedule, steps_for
from lpsflow.joblog import to_file
from lpsflow.seeds import derive
from lpsflow.settings import ExploreMd, Settings

log = to_file(snakemake.log[0])
p, wc = snakemake.params, snakemake.wildcards
md = ExploreMd.from_params(p.md)
command = Settings.from_config(snakemake.config).explore.command  # execution, not a param
iteration = int(wc.iter)
steps = steps_for(iteration, md.steps)
log.info("%s: %d jobs of %d steps, %d at a time", wc.comp, len(p.jobs), steps, snakemake.threads)
starts = [read(path) for path in snakemake.input.starts]
codes = run_schedule(
    starts,
    p.jobs,
    snakemake.input.models,
    p.type_map,
    [Path(devi).parent for devi in snakemake.output.devi],  # job j's folder
    seed=derive(md.seed, iteration=iteration, composition=p.comp_index),
    workers=snakemake.threads,
    steps=steps,
    timestep_fs=md.timestep_fs,
    out_freq=md.out_freq,
    command=command,
    relative_level=p.relative_level,
)
expected = steps // md.out_freq + 1
outputs = zip(snakemake.output.devi, snakemake.output.final, snakemake.output.status, strict=True)
for j, (devi, final, status_path) in enumerate(outputs):
    workdir = Path(devi).parent
    status = check_run(workdir, codes[j], starts[j], p.type_map, expected)
    frame, note = restart_frame(workdir, starts[j], p.type_map, p.trust_lo)
    status.update(restart=note, out_freq=md.out_freq)
    if status["status"] != "ok":
        log.warning("%s job %d: MD went wrong: %s", wc.comp, j, status["reason"])
    log.info(
        "%s job %d: %d of %d records kept; next start: %s",
        wc.comp,
        j,
        status["records"],
        expected,
        note,
    )
    frame.info.update(composition=wc.comp, explore_job=j, iteration=iteration)  # what it is
    write(final, frame, format="extxyz")
    json.dump(status, open(status_path, "w"), indent=1)
