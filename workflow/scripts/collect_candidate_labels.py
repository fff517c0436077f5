"""Adapter: all labels of an iteration's candidates in one table.

Stored failures that are stale (a crash, changed SCF settings, time limit, attempts or
program version) are labelled again first; then it fails (lpsflow.labeling.TooManyFailures)
when more than dft.max_failed_fraction of the candidates failed.
"""

import pandas as pd

from lpsflow.dft import SetupError, labels_in_stage
from lpsflow.joblog import stop, to_file
from lpsflow.labeling import TooManyFailures, check_failures, label_stage, retry_stale_in_stage
from lpsflow.settings import Settings

log = to_file(snakemake.log[0])
settings = Settings.from_config(snakemake.config)
where = f"candidates of iteration {snakemake.wildcards.iter}"
tables = [pd.read_csv(p) for p in snakemake.input.manifests]
if labels_in_stage(settings.dft.science.engine):
    try:  # a cheap in-process engine labels the whole stage here (no per-frame jobs)
        rows = label_stage(snakemake.input.frames, settings.dft, snakemake.threads, where)
    except (SetupError, TooManyFailures) as err:
        stop(log, err)
    tables = [pd.DataFrame(rows)] if rows else []
table = (
    pd.concat(tables, ignore_index=True)
    if tables
    else pd.DataFrame(
        columns=["composition", "frame", "key", "status", "reason", "reused", "engine_runs"]
    )
)
in_stage = labels_in_stage(settings.dft.science.engine)  # its stale failures were retried
if not in_stage and table["status"].eq("failed").any():  # stale failures labelled again
    try:
        rows = retry_stale_in_stage(
            table.to_dict("records"), snakemake.input.frames, settings.dft, snakemake.threads
        )
    except SetupError as err:
        stop(log, err)
    table = pd.DataFrame(rows, columns=table.columns)
    table["reason"] = table["reason"].fillna("")
table["reason"] = table["reason"].fillna("")
log.info("%d rows from %d tables", len(table), len(tables))
try:
    check_failures(
        list(table["status"]),
        list(table["reason"]),
        settings.dft.execution.max_failed_fraction,
        f"{where} ({snakemake.output.labels})",
    )
except TooManyFailures as err:
    stop(log, err)
table.to_csv(snakemake.output.labels, index=False)
