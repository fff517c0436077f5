"""Adapter: every run's environment.json -> mobility and unit-stability tables."""

import json

from lpsflow.joblog import to_file
from lpsflow.li_environment import mobility_table, units_table

log = to_file(snakemake.log[0])
runs = [json.load(open(path)) for path in snakemake.input.environment]
mobility_table(runs).to_csv(snakemake.output.mobility, index=False)
units = units_table(runs)
units.to_csv(snakemake.output.units, index=False)
log.info("%d runs; units changed in %d", len(runs), int(units["units_changed"].sum()))
