"""Adapter: labelled frames of a short CP2K AIMD of one starting cell (lpsflow.aimd)."""

import pandas as pd
from ase.io import read

from lpsflow.aimd import AimdSettings, aimd_frames, manifest_rows
from lpsflow.joblog import to_file
from lpsflow.store import LabelStore

log = to_file(snakemake.log[0])
p = snakemake.params
md = AimdSettings(
    steps=p.steps,
    every=p.every,
    temperature=p.temperature,
    timestep_fs=p.timestep_fs,
    thermostat_fs=p.thermostat_fs,
    seed=p.seed,
)
cell = read(snakemake.input.cell)
cell.info.setdefault("replica", int(snakemake.wildcards.replica))
cell.info.setdefault("composition", snakemake.wildcards.comp)
frames, run = aimd_frames(
    cell, p.dft, md, LabelStore(p.dft["store"]), snakemake.threads, p.dft["retry_failed"]
)
table = pd.DataFrame(manifest_rows(cell, frames, run))
log.info(
    "AIMD run %s: %s%s (reused: %s); frames %s",
    run["key"][:12],
    run["status"],
    f" ({run['reason']})" if run["reason"] else "",
    run["reused"],
    table["status"].value_counts().to_dict() if len(table) else {},
)
table.to_csv(snakemake.output.manifest, index=False)
