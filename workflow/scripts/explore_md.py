"""Adapter: the model-deviation MD runs of one composition and iteration (lpsflow.exploration).

MD that goes wrong is recorded, not raised: each job's status.json says what happened and
how many records were kept; final.extxyz is the last frame below trust_hi (the next
iteration's start).
"""

import json
from pathlib import Path

from ase.io import read, write

from lpsflow.exploration import check_run, restart_frame, run_schedule, steps_for
from lpsflow.joblog import to_file

log = to_file(snakemake.log[0])
p, wc = snakemake.params, snakemake.wildcards
iteration, explore = int(wc.iter), p.explore
steps = steps_for(iteration, explore["steps"])
log.info("%s: %d jobs of %d steps, %d at a time", wc.comp, len(p.jobs), steps, snakemake.threads)
starts = [read(path) for path in snakemake.input.starts]
codes = run_schedule(
    starts,
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
expected = steps // explore["out_freq"] + 1
outputs = zip(snakemake.output.devi, snakemake.output.final, snakemake.output.status, strict=True)
for j, (devi, final, status_path) in enumerate(outputs):
    workdir = Path(devi).parent
    status = check_run(workdir, codes[j], starts[j], p.type_map, expected)
    frame, note = restart_frame(workdir, starts[j], p.type_map, p.select["trust_hi"])
    status.update(restart=note, out_freq=explore["out_freq"])
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
    write(final, frame, format="extxyz")
    json.dump(status, open(status_path, "w"), indent=1)
