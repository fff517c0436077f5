"""Adapter: per-composition counts of labelled and failed frames, the failure list, and the
labelled frames per level of theory (computed here or imported)."""

import pandas as pd

from lpsflow.importing import frames_per_theory
from lpsflow.joblog import to_file

log = to_file(snakemake.log[0])
table = pd.concat([pd.read_csv(p) for p in snakemake.input.labels], ignore_index=True)
summary = (
    table.assign(ok=table["status"].eq("ok"), failed=table["status"].eq("failed"))
    .groupby("composition")
    .agg(
        frames=("key", "size"),
        labelled=("ok", "sum"),
        failed=("failed", "sum"),
        engine_runs=("engine_runs", "sum"),
    )
    .reset_index()
)
summary.to_csv(snakemake.output.summary, index=False)
table[table["status"] != "ok"].to_csv(snakemake.output.failures, index=False)
log.info("\n%s", summary.to_string(index=False))

theory = frames_per_theory(table, snakemake.params.theory)
theory.to_csv(snakemake.output.theory, index=False)
log.info("labelled frames per level of theory:\n%s", theory.to_string(index=False))
