"""Adapter: per-run table, replica-combined sigma and Arrhenius fits (lpsflow.transport).

The optional named input ``tg`` lists results/production/{comp}/tg.json (``composition``,
``tg_K``, ``tg_err_K``, ``method``): the model Tg per composition, which splits each Arrhenius
law into the glass (below Tg: Ea, sigma(298 K)) and the melt. Without it every temperature is
of regime ``unknown`` and the fits are as before.
"""

import json

import pandas as pd

from lpsflow.joblog import to_file
from lpsflow.transport import runs_table, summarize_runs

log = to_file(snakemake.log[0])
tg = None
if "tg" in snakemake.input.keys():
    tg = {}
    for path in snakemake.input.tg:
        entry = json.load(open(path))
        tg[entry["composition"]] = entry
    log.info("model Tg: %s", tg)
else:
    log.info("no model Tg given: regimes unknown, one Arrhenius law per composition")
runs = pd.DataFrame([json.load(open(p)) for p in snakemake.input.transport])
runs_table(runs, tg).to_csv(snakemake.output.runs, index=False)
table, arrhenius = summarize_runs(runs, tg)
table.to_csv(snakemake.output.table, index=False)
arrhenius.to_csv(snakemake.output.arrhenius, index=False)
for _, row in arrhenius.iterrows():
    if row["note"]:
        log.warning("%s: no Arrhenius fit: %s", row["composition"], row["note"])
log.info("\n%s", arrhenius.to_string(index=False))
