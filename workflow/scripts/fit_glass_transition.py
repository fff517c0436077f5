"""Adapter: the model's Tg of one composition from the density along its quenches
(lpsflow.glass_transition)."""

import json

from lpsflow.glass_transition import tg_from_runs
from lpsflow.joblog import to_file

log = to_file(snakemake.log[0])
densities = [json.load(open(path)) for path in snakemake.input.density]
result = tg_from_runs(snakemake.wildcards.comp, list(snakemake.input.quench), densities)
log.info(
    "%s: Tg %s +- %s K (%s)",
    result["composition"],
    result["tg_K"],
    result["tg_err_K"],
    result["reason"] or "found",
)
json.dump(result, open(snakemake.output.tg, "w"), indent=1)
