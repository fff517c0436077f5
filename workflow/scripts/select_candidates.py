"""Adapter: classify explored frames, choose candidates, decide convergence (lpsflow.selection)."""

import json

from ase.io import write

from lpsflow.joblog import to_file
from lpsflow.selection import select_iteration

log = to_file(snakemake.log[0])
p = snakemake.params
runs, k = [], 0
for comp in p.compositions:
    for j, job in enumerate(p.jobs):
        temp = (
            job["t_start"] if job["t_start"] == job["t_end"] else f"{job['t_start']}-{job['t_end']}"
        )
        runs.append(
            {
                "composition": comp,
                "job": j,
                "temperature": str(temp),
                "devi": snakemake.input.devi[k],
                "traj": snakemake.input.traj[k],
                "status": snakemake.input.status[k],
            }
        )
        k += 1
frames, chosen, ratios, verdict = select_iteration(
    runs, snakemake.input.graph, p.type_map, p.select, p.loop["accurate_ratio"]
)
log.info("verdict %s\n%s", verdict, ratios.to_string(index=False))
write(snakemake.output.candidates, chosen, format="extxyz")
frames.to_csv(snakemake.output.frames, index=False)
ratios.to_csv(snakemake.output.ratios, index=False)
json.dump(verdict, open(snakemake.output.verdict, "w"), indent=1)
