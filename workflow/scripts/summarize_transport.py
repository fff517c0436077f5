"""Adapter: conductivity table and per-composition Arrhenius fits (lpsflow.transport)."""

import json

import pandas as pd

from lpsflow.joblog import to_file
from lpsflow.transport import arrhenius

log = to_file(snakemake.log[0])
table = pd.DataFrame([json.load(open(p)) for p in snakemake.input.transport])
table.to_csv(snakemake.output.table, index=False)
rows = []
for comp, group in table.groupby("composition"):
    try:
        fit = arrhenius(group["temperature_K"], group["sigma_S_cm"], group["sigma_err_S_cm"])
    except ValueError as err:  # too few diffusive temperatures: said, not hidden
        log.warning("%s: no Arrhenius fit: %s", comp, err)
        fit = {"note": str(err)}
    rows.append({"composition": comp, "any_untrusted_run": bool(group["untrusted"].any()), **fit})
pd.DataFrame(rows).to_csv(snakemake.output.arrhenius, index=False)
log.info("\n%s", pd.DataFrame(rows).to_string(index=False))
