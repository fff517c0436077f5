"""Adapter: per-run table, replica-combined sigma and Arrhenius fits (lpsflow.transport)."""

import json

import pandas as pd

from lpsflow.joblog import to_file
from lpsflow.transport import summarize_runs

log = to_file(snakemake.log[0])
runs = pd.DataFrame([json.load(open(p)) for p in snakemake.input.transport])
runs.to_csv(snakemake.output.runs, index=False)
table, arrhenius = summarize_runs(runs)
table.to_csv(snakemake.output.table, index=False)
arrhenius.to_csv(snakemake.output.arrhenius, index=False)
for _, row in arrhenius.iterrows():
    if row["note"]:
        log.warning("%s: no Arrhenius fit: %s", row["composition"], row["note"])
log.info("\n%s", arrhenius.to_string(index=False))
