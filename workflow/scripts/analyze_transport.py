"""Adapter: Li MSD -> D -> Nernst-Einstein conductivity, and the run's deviation check."""

import json

import pandas as pd
from ase.io import read

from lpsflow.joblog import to_file
from lpsflow.production import deviation_summary
from lpsflow.settings import FitSettings
from lpsflow.transport import fit_diffusion, msd_from_dump, nernst_einstein

log = to_file(snakemake.log[0])
fit_settings = FitSettings.from_params(snakemake.params.fit)
temperature = float(snakemake.wildcards.temp)
glass = read(snakemake.input.glass)
n_li = glass.get_chemical_symbols().count("Li")
status = json.load(open(snakemake.input.status))
failures = [f"run: {status['reason']}"] if status["status"] != "ok" else []
failures += [glass.info["md_failure"]] if glass.info.get("md_failure") else []
nan = float("nan")
fit = {"D_cm2_s": nan, "D_err_cm2_s": nan, "fit_start_ps": nan, "fit_end_ps": nan, "beta": nan}
lags = [nan]
msd = None
try:
    lags, msd = msd_from_dump(
        snakemake.input.li, fit_settings.dump_every * fit_settings.timestep_fs * 1e-3
    )
    fit = fit_diffusion(lags, msd, window=tuple(fit_settings.fit_window))
except Exception as err:  # noqa: BLE001
    if not failures:
        raise  # a complete run that cannot be analysed is a real error
    log.warning("no diffusion coefficient from the failed run: %s", err)
sigma = nernst_einstein(
    fit["D_cm2_s"], n_li, glass.get_volume(), temperature, fit_settings.haven_ratio
)
haven = fit_settings.haven_ratio
sigma_err = sigma * fit["D_err_cm2_s"] / fit["D_cm2_s"] if fit["D_cm2_s"] > 0 else float("nan")
devi = deviation_summary(snakemake.input.devi, fit_settings.trust_hi)
result = {
    "composition": snakemake.wildcards.comp,
    "temperature_K": temperature,
    "n_li": n_li,
    "volume_A3": glass.get_volume(),
    "run_ps": float(lags[-1]),
    **fit,
    "sigma_S_cm": sigma,
    "sigma_err_S_cm": sigma_err,
    "haven_ratio": haven,
    **devi,
    "md_failure": "; ".join(failures),
    "untrusted": bool(failures) or not devi["untrusted_fraction"] == 0,
}
log.info("%s", result)
json.dump(result, open(snakemake.output.transport, "w"), indent=1)
pd.DataFrame(
    {
        "composition": snakemake.wildcards.comp,
        "temperature_K": temperature,
        "lag_ps": lags,
        "msd_A2": msd.mean(axis=1) if msd is not None else [float("nan")],
    }
).to_csv(snakemake.output.msd, index=False)
