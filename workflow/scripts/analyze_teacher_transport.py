"""Adapter: Li MSD -> D -> conductivity of a teacher run, with the DP runs' code and settings."""

import json

import pandas as pd
from ase.io import read

from lpsflow.joblog import to_file
from lpsflow.transport import fit_diffusion, msd_from_dump, nernst_einstein

log = to_file(snakemake.log[0])
fit_settings = snakemake.params  # dump_every, timestep_fs, fit_window, haven_ratio
temperature = float(snakemake.wildcards.temp)
glass = read(snakemake.input.cell)  # atoms and volume of the recorded NVT run
n_li = glass.get_chemical_symbols().count("Li")
lags, msd = msd_from_dump(
    snakemake.input.li, fit_settings.dump_every * fit_settings.timestep_fs * 1e-3
)
fit = fit_diffusion(lags, msd, window=tuple(fit_settings.fit_window))
sigma = nernst_einstein(
    fit["D_cm2_s"], n_li, glass.get_volume(), temperature, fit_settings.haven_ratio
)
sigma_err = sigma * fit["D_err_cm2_s"] / fit["D_cm2_s"] if fit["D_cm2_s"] > 0 else float("nan")
result = {
    "composition": snakemake.wildcards.comp,
    "temperature_K": temperature,
    "n_li": n_li,
    "volume_A3": glass.get_volume(),
    "run_ps": float(lags[-1]),
    **fit,
    "sigma_S_cm": sigma,
    "sigma_err_S_cm": sigma_err,
    "haven_ratio": fit_settings.haven_ratio,
    "untrusted": False,  # the teacher is the reference: no deviation to check
}
log.info("%s", result)
json.dump(result, open(snakemake.output.transport, "w"), indent=1)
pd.DataFrame({"lag_ps": lags, "msd_A2": msd.mean(axis=1)}).to_csv(snakemake.output.msd, index=False)
