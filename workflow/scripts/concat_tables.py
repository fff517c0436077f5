"""Adapter: concatenate CSV tables (batch manifests) into one."""

import pandas as pd

from lpsflow.joblog import to_file

log = to_file(snakemake.log[0])
tables = [pd.read_csv(p) for p in snakemake.input.manifests]
table = (
    pd.concat(tables, ignore_index=True)
    if tables
    else pd.DataFrame(
        columns=["composition", "frame", "key", "status", "reason", "reused", "engine_runs"]
    )
)
log.info("%d rows from %d tables", len(table), len(tables))
table.to_csv(snakemake.output.labels, index=False)
