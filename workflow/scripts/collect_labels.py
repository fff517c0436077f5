"""Adapter: a composition's labelled frames from the store as deepmd/npy (lpsflow.dataset).

Stored failures that are stale (a crash, changed SCF settings, time limit, attempts or
program version) are labelled again first; then it fails (lpsflow.labeling.TooManyFailures)
when more than dft.max_failed_fraction of the composition's frames failed.
"""

import pandas as pd

from lpsflow.dataset import gather, write_deepmd
from lpsflow.dft import SetupError
from lpsflow.joblog import stop, to_file
from lpsflow.labeling import TooManyFailures, check_failures, retry_stale_in_stage
from lpsflow.settings import Settings
from lpsflow.store import LabelStore

log = to_file(snakemake.log[0])
table = pd.concat([pd.read_csv(p) for p in snakemake.input.manifests], ignore_index=True)
settings = Settings.from_config(snakemake.config)
table["reason"] = table["reason"].fillna("")
if table["status"].eq("failed").any():  # stale stored failures are labelled again here
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
        f"initial frames of {snakemake.wildcards.comp} (results/init/{snakemake.wildcards.comp}"
        "/labels/frame_*.csv)",
    )
except TooManyFailures as err:
    stop(log, err)
store = LabelStore(settings.dft.execution.store)
systems = gather(store, list(table["key"]), snakemake.params.type_map)
n = write_deepmd(systems, snakemake.output.data)
log.info("%d labelled frames of %d written", n, len(table))
table.to_csv(snakemake.output.labels, index=False)
