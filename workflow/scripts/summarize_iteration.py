"""Adapter: one iteration's row per composition (data size, RMSE, ratios, verdict), written
as soon as its selection is done (lpsflow.loop.iteration_table)."""

import pandas as pd

from lpsflow.joblog import to_file
from lpsflow.loop import Verdict, iteration_table

log = to_file(snakemake.log[0])
inp = snakemake.input
table = iteration_table(
    [pd.read_csv(inp.rmse)],
    [pd.read_csv(inp.ratios)],
    [pd.read_csv(inp.dataset)],
    [Verdict.read(inp.verdict)],
)
table["iteration"] = int(snakemake.wildcards.iter)
log.info("\n%s", table.to_string(index=False))
table.to_csv(snakemake.output.table, index=False)
