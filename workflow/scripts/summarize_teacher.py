"""Adapter: teacher vs DP transport table and pooled bias, teacher Arrhenius fits, MD speeds."""

import json

import pandas as pd

from lpsflow.joblog import to_file
from lpsflow.teacher import compare, lammps_speed, pooled_ratio
from lpsflow.transport import arrhenius

log = to_file(snakemake.log[0])
teacher = pd.DataFrame([json.load(open(p)) for p in snakemake.input.teacher])
dp = pd.DataFrame([json.load(open(p)) for p in snakemake.input.dp])
teacher.to_csv(snakemake.output.teacher, index=False)
table = compare(dp, teacher)
table.to_csv(snakemake.output.comparison, index=False)
log.info("\n%s", table.to_string(index=False))
bias = pooled_ratio(table)  # DP / teacher over all points, 95 % t-interval of the mean ln ratio
bias.to_csv(snakemake.output.bias, index=False)
log.info("pooled DP / teacher ratio:\n%s", bias.to_string(index=False))
rows = []
for comp, group in teacher.groupby("composition"):
    try:
        fit = arrhenius(group["temperature_K"], group["sigma_S_cm"], group["sigma_err_S_cm"])
    except ValueError as err:
        log.warning("%s: no teacher Arrhenius fit: %s", comp, err)
        fit = {"note": str(err)}
    rows.append({"composition": comp, **fit})
pd.DataFrame(rows).to_csv(snakemake.output.arrhenius, index=False)
speeds = []
runs = zip(snakemake.input.speed, snakemake.params.teacher_runs, strict=True)
for path, run in runs:  # teacher runs: timed around the ASE dynamics
    speeds.append({**run, **json.load(open(path))})
runs = zip(snakemake.input.dp_log, snakemake.params.dp_runs, strict=True)
for path, run in runs:  # DP runs: LAMMPS "Loop time" lines of the same runs' logs
    speeds.append({**run, **lammps_speed(path)})
pd.DataFrame(speeds).to_csv(snakemake.output.speed, index=False)
