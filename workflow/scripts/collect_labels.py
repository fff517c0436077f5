"""Adapter: a composition's labelled frames from the store as deepmd/npy (lpsflow.dataset).

Stored failures that are stale (a crash, changed SCF settings, time limit, attempts or
program version) are labelled again first; then it fails (lpsflow.labeling.TooManyFailures)
when more than dft.max_failed_fraction of the composition's frames failed.
"""

import pandas as pd

from lpsflow.dataset import gather, write_deepmd
from lpsflow.dft import SetupError, labels_in_stage
from lpsflow.joblog import stop, to_file
from lpsflow.labeling import TooManyFailures, check_failures, label_stage, retry_stale_in_stage
from lpsflow.settings import Settings
from lpsflow.store import LabelStore

log = to_file(snakemake.log[0])
settings = Settings.from_config(snakemake.config)
comp = snakemake.wildcards.comp
tables = [pd.read_csv(p) for p in snakemake.input.manifests]
if labels_in_stage(settings.dft.science.engine) and snakemake.input.frames:
    try:  # a cheap in-process engine labels the whole stage here (no per-frame jobs)
        rows = label_stage(
            snakemake.input.frames, settings.dft, snakemake.threads, f"initial frames of {comp}"
        )
    except (SetupError, TooManyFailures) as err:
        stop(log, err)
    log.info("labelled %d frames in this job", len(rows))
    tables.insert(0, pd.DataFrame(rows))
table = pd.concat(tables, ignore_index=True)
table["reason"] = table["reason"].fillna("")
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
try:
    check_failures(
        list(table["status"]),
        list(table["reason"]),
        settings.dft.execution.max_failed_fraction,
        f"initial frames of {comp} ({snakemake.output.labels})",
    )
except TooManyFailures as err:
    stop(log, err)
store = LabelStore(settings.dft.execution.store)
systems = gather(store, list(table["key"]), snakemake.params.type_map)
n = write_deepmd(systems, snakemake.output.data)
log.info("%d labelled frames of %d written", n, len(table))
table.to_csv(snakemake.output.labels, index=False)
