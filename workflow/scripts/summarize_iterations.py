"""Adapter: the per-iteration table of data size, RMSE and selection ratios (lpsflow.loop)."""

import json

import pandas as pd

from lpsflow.joblog import to_file
from lpsflow.loop import Verdict, iteration_table

log = to_file(snakemake.log[0])
inp = snakemake.input
table = iteration_table(
    [pd.read_csv(p) for p in inp.rmse],
    [pd.read_csv(p) for p in inp.ratios],
    [pd.read_csv(p) for p in inp.datasets],
    [Verdict.read(p) for p in inp.verdicts],
)
log.info("\n%s", table.to_string(index=False))
table.to_csv(snakemake.output.table, index=False)
# every per-iteration table by name, in iteration order (the report reads them from here)
tables = {name: list(inp[name]) for name in ("rmse", "ratios", "frames", "datasets", "labels")}
json.dump(tables, open(snakemake.output.index, "w"), indent=1)
