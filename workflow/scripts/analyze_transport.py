"""Adapter: one transport run -> D, tracer and collective sigma, diffusive and deviation checks."""

import json

import pandas as pd
from ase.io import read

from lpsflow.joblog import to_file
from lpsflow.production import deviation_summary
from lpsflow.transport import analyze_run

log = to_file(snakemake.log[0])
p = snakemake.params
step_ps = p.timestep_fs * 1e-3
glass = read(snakemake.input.glass)  # atom order of the run (LAMMPS IDs): types and charges
summary, curves = analyze_run(
    snakemake.input.li,
    glass.get_chemical_symbols(),
    glass.get_volume(),
    float(snakemake.wildcards.temp),
    p.dump_every * step_ps,
    all_path=snakemake.input.all,
    all_timestep_ps=p.dump_all_every * step_ps,
    window=tuple(p.fit_window),
    n_blocks=p.n_blocks,
    beta_min=p.beta_min,
    msd_min_a2=p.msd_min_A2,
    haven_ratio_fallback=p.haven_ratio,
)
devi = deviation_summary(snakemake.input.devi, p.trust_hi)
result = {
    "composition": snakemake.wildcards.comp,
    "replica": int(snakemake.wildcards.replica),
    **summary,
    **devi,
    "untrusted": bool(devi["untrusted_fraction"] > 0),
}
log.info("%s", result)
json.dump(result, open(snakemake.output.transport, "w"), indent=1)
pd.DataFrame(curves["li"]).to_csv(snakemake.output.msd, index=False)
pd.DataFrame(curves["charge"]).to_csv(snakemake.output.charge_msd, index=False)
