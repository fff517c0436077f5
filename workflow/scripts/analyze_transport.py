"""Adapter: Li MSD -> D -> Nernst-Einstein conductivity, and the run's deviation check."""

import json

import pandas as pd
from ase.io import read

from lpsflow.joblog import to_file
from lpsflow.production import deviation_summary
from lpsflow.transport import fit_diffusion, msd_from_dump, nernst_einstein

log = to_file(snakemake.log[0])
p = snakemake.params.production
temperature = float(snakemake.wildcards.temp)
glass = read(snakemake.input.glass)
n_li = glass.get_chemical_symbols().count("Li")
npt = json.load(open(snakemake.input.npt))
volume = npt["nvt_volume_A3"]  # the NVT box of the run
lags, msd = msd_from_dump(snakemake.input.li, p["dump_every"] * p["timestep_fs"] * 1e-3)
fit = fit_diffusion(lags, msd, window=tuple(p["fit_window"]))
sigma = nernst_einstein(fit["D_cm2_s"], n_li, volume, temperature, p["haven_ratio"])
sigma_err = sigma * fit["D_err_cm2_s"] / fit["D_cm2_s"] if fit["D_cm2_s"] > 0 else float("nan")
devi = deviation_summary(snakemake.input.devi, snakemake.params.trust_hi)
result = {
    "composition": snakemake.wildcards.comp,
    "temperature_K": temperature,
    "n_li": n_li,
    "volume_A3": volume,
    "run_ps": float(lags[-1]),
    **fit,
    "sigma_S_cm": sigma,
    "sigma_err_S_cm": sigma_err,
    "haven_ratio": p["haven_ratio"],
    **devi,
    "npt_failed": npt.get("npt_failed"),
    "untrusted": bool(devi["untrusted_fraction"] > 0 or npt.get("npt_failed")),
}
log.info("%s", result)
json.dump(result, open(snakemake.output.transport, "w"), indent=1)
pd.DataFrame({"lag_ps": lags, "msd_A2": msd.mean(axis=1)}).to_csv(snakemake.output.msd, index=False)
