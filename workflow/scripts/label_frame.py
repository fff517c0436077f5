"""Adapter: label one frame with the configured DFT engine (lpsflow.labeling).

A broken setup (lpsflow.dft.SetupError) fails the job at once with the diagnosis and
stores nothing; the failed-fraction limit is checked by the stage's collecting job.
"""

import pandas as pd
from ase.io import read

from lpsflow.dft import SetupError, get_engine
from lpsflow.joblog import stop, to_file
from lpsflow.labeling import label_batch
from lpsflow.settings import DftScience, DftSettings, Settings
from lpsflow.store import LabelStore

log = to_file(snakemake.log[0])
execution = Settings.from_config(snakemake.config).dft.execution  # how, not what
dft = DftSettings(DftScience.from_params(snakemake.params.dft), execution)
index = int(snakemake.wildcards.frame)
frame = read(snakemake.input.frames, index=index)
try:
    engine = get_engine(dft.science.engine, dft.engine_settings(), threads=snakemake.threads)
    rows = label_batch(
        [frame], engine, LabelStore(execution.store), execution.max_attempts, execution.retry_failed
    )
except SetupError as err:
    stop(log, err)
table = pd.DataFrame(rows)
log.info("frame %d: %s", index, table["status"].value_counts().to_dict())
table.to_csv(snakemake.output.manifest, index=False)
