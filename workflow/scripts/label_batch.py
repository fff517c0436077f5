"""Adapter: label one batch of frames with the configured DFT engine (lpsflow.labeling).

A broken setup (lpsflow.dft.SetupError) or more failed frames than dft.max_failed_fraction
of the stage (lpsflow.labeling.TooManyFailures) fails the job with the diagnosis.
"""

import pandas as pd
from ase.io import read

from lpsflow.dft import SetupError, get_engine
from lpsflow.joblog import stop, to_file
from lpsflow.labeling import TooManyFailures, label_batch
from lpsflow.store import LabelStore

log = to_file(snakemake.log[0])
dft = snakemake.params.dft
per_job = snakemake.params.frames_per_job
batch = int(snakemake.wildcards.batch)
frames = read(snakemake.input.frames, index=f"{batch * per_job}:{(batch + 1) * per_job}")
stage = len(read(snakemake.input.frames, index=":"))
engine = get_engine(dft["engine"], dft, threads=snakemake.threads)
try:
    rows = label_batch(
        frames,
        engine,
        LabelStore(dft["store"]),
        dft["max_attempts"],
        dft["retry_failed"],
        max_failed_fraction=snakemake.config["dft"]["max_failed_fraction"],
        stage_frames=stage,
        where=f"labelling {snakemake.input.frames}",
    )
except (SetupError, TooManyFailures) as err:
    stop(log, err)
table = pd.DataFrame(rows)
log.info("batch %d: %s", batch, table["status"].value_counts().to_dict())
table.to_csv(snakemake.output.manifest, index=False)
