"""Adapter: label one batch of frames with the configured DFT engine (lpsflow.labeling)."""

import pandas as pd
from ase.io import read

from lpsflow.dft import get_engine
from lpsflow.joblog import to_file
from lpsflow.labeling import label_batch
from lpsflow.store import LabelStore

log = to_file(snakemake.log[0])
dft = snakemake.params.dft
per_job = snakemake.params.frames_per_job
batch = int(snakemake.wildcards.batch)
frames = read(snakemake.input.frames, index=f"{batch * per_job}:{(batch + 1) * per_job}")
engine = get_engine(dft["engine"], dft, threads=snakemake.threads)
rows = label_batch(
    frames, engine, LabelStore(dft["store"]), dft["max_attempts"], dft["retry_failed"]
)
table = pd.DataFrame(rows)
log.info("batch %d: %s", batch, table["status"].value_counts().to_dict())
table.to_csv(snakemake.output.manifest, index=False)
