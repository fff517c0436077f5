"""Adapter: one production run's all-atom DCD -> Li environments, mobility per environment
with intervals, unit fractions over time, charge check (lpsflow.li_environment)."""

import json

from ase.io import read

from lpsflow.joblog import to_file
from lpsflow.li_environment import analyse_dcd

log = to_file(snakemake.log[0])
p = snakemake.params
wc = snakemake.wildcards
glass = read(snakemake.input.glass)  # atom order of the run (LAMMPS IDs): the elements
out = analyse_dcd(
    snakemake.input.all,
    glass,
    p.dump_all_every * p.timestep_fs * 1e-3,  # ps between all.dcd frames
    p.longest_lag_fraction,
    composition=wc.comp,
    replica=int(wc.replica),
    temperature_k=float(wc.temp),
)
json.dump(out["summary"], open(snakemake.output.environment, "w"), indent=1)
out["series"].to_csv(snakemake.output.units, index=False)
out["mobility"].to_csv(snakemake.output.mobility, index=False)
log.info("environment of %s replica %s at %s K written", wc.comp, wc.replica, wc.temp)
