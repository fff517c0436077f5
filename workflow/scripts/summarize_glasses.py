"""Adapter: glass and crystal densities against experiment, the model's Tg beside measured
values, and the quench-rate sensitivity (lpsflow.glass_density, lpsflow.glass_transition)."""

import json

from lpsflow.glass_density import (
    density_comparison,
    measured_tg,
    quench_rate_sigma,
    quench_rate_table,
)
from lpsflow.glass_transition import tg_table
from lpsflow.joblog import to_file

log = to_file(snakemake.log[0])
p = snakemake.params


def load(paths):
    return [json.load(open(path)) for path in paths]


glasses, crystals, tgs = (
    load(snakemake.input.density),
    load(snakemake.input.crystals),
    load(snakemake.input.tg),
)
rate_tgs = load(path for path in snakemake.input.rates if path.endswith("tg.json"))
rate_glasses = load(path for path in snakemake.input.rates if path.endswith("density.json"))
x_of = {c["name"]: c.get("x") for c in p.compositions}
density = density_comparison(p.compositions, glasses, crystals)
tg = tg_table([{**t, "x": x_of.get(t["composition"])} for t in tgs], measured_tg())
rates = quench_rate_table(glasses + rate_glasses, tgs + rate_tgs)
transport = load(snakemake.input.transport)  # empty without quench-rate sensitivity
rates_sigma = quench_rate_sigma(list(zip(p.transport_rates, transport, strict=True)))
log.info("densities\n%s\nTg\n%s\nquench rates\n%s\n%s", density, tg, rates, rates_sigma)
density.to_csv(snakemake.output.density, index=False)
tg.to_csv(snakemake.output.tg, index=False)
rates.to_csv(snakemake.output.rates, index=False)
rates_sigma.to_csv(snakemake.output.rates_sigma, index=False)
