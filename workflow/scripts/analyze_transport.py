"""Adapter: one transport run -> D, tracer and collective sigma, diffusive and deviation checks.

A run whose MD went wrong (run_status.json, or a melt-quench that failed) is untrusted; what
it wrote before the failure is still analysed when it can be.
"""

import json

import pandas as pd
from ase.io import read

from lpsflow.joblog import to_file
from lpsflow.production import deviation_summary
from lpsflow.settings import FitSettings
from lpsflow.transport import analyze_run

log = to_file(snakemake.log[0])
fit = FitSettings.from_params(snakemake.params.fit)
step_ps = fit.timestep_fs * 1e-3
glass = read(snakemake.input.glass)  # atom order of the run (LAMMPS IDs): types and charges
status = json.load(open(snakemake.input.status))
failures = [f"run: {status['reason']}"] if status["status"] != "ok" else []
failures += [glass.info["md_failure"]] if glass.info.get("md_failure") else []
npt = json.load(open(snakemake.input.npt))
volume = npt.get("nvt_volume_A3", glass.get_volume())  # the NVT box of the run (A^3)
try:
    summary, curves = analyze_run(
        snakemake.input.li,
        glass.get_chemical_symbols(),
        volume,
        float(snakemake.wildcards.temp),
        fit.dump_every * step_ps,
        all_path=snakemake.input.all,
        all_timestep_ps=fit.dump_all_every * step_ps,
        window=tuple(fit.fit_window),
        n_blocks=fit.n_blocks,
        beta_min=fit.beta_min,
        msd_min_a2=fit.msd_min_A2,
        haven_ratio_fallback=fit.haven_ratio,
    )
except Exception as err:  # noqa: BLE001
    if not failures:
        raise  # a complete run that cannot be analysed is a real error
    log.warning("no diffusion coefficient from the failed run: %s", err)
    nan = float("nan")
    summary = {"temperature_K": float(snakemake.wildcards.temp), "D_cm2_s": nan}
    summary.update(sigma_S_cm=nan, diffusive=False, reason="MD failed")
    curves = {"li": {"lag_ps": [nan], "msd_A2": [nan]}, "charge": {"lag_ps": [nan]}}
devi = deviation_summary(snakemake.input.devi, fit.trust_hi)
result = {
    "composition": snakemake.wildcards.comp,
    "replica": int(snakemake.wildcards.replica),
    **summary,
    **devi,
    "volume_A3": volume,
    "nvt_density_g_cm3": npt.get("nvt_density_g_cm3"),
    "npt_failed": npt.get("npt_failed"),
    "md_failure": "; ".join(failures),
    "untrusted": bool(failures) or not devi["untrusted_fraction"] == 0,
    # the MD's own cost (lpsflow.cost, measured by run_production)
    "atom_steps_per_s_per_core": status.get("cost", {}).get("atom_steps_per_s_per_core"),
    "core_hours": status.get("cost", {}).get("core_hours"),
}
log.info("%s", result)
json.dump(result, open(snakemake.output.transport, "w"), indent=1)
pd.DataFrame(curves["li"]).to_csv(snakemake.output.msd, index=False)
pd.DataFrame(curves["charge"]).to_csv(snakemake.output.charge_msd, index=False)
