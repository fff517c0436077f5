"""Adapter: labelled frames of a short CP2K AIMD of one starting cell (lpsflow.aimd)."""

import pandas as pd
from ase.io import read, write

from lpsflow.aimd import aimd_frames, last_frame, manifest_rows
from lpsflow.dft import SetupError
from lpsflow.dft.base import AimdSettings
from lpsflow.joblog import stop, to_file
from lpsflow.settings import DftScience, DftSettings, Settings
from lpsflow.store import LabelStore

log = to_file(snakemake.log[0])
p = snakemake.params
execution = Settings.from_config(snakemake.config).dft.execution  # how, not what
dft = DftSettings(DftScience.from_params(p.dft), execution).engine_settings()
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
try:
    frames, run = aimd_frames(
        cell, dft, md, LabelStore(execution.store), snakemake.threads, execution.retry_failed
    )
except SetupError as err:
    stop(log, err)
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
end = last_frame(cell, frames, LabelStore(execution.store))
log.info(
    "first exploration starts from AIMD step %s", end.info.get("aimd_step", "none (start cell)")
)
write(snakemake.output.last, end, format="extxyz")
