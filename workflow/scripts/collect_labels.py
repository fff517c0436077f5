"""Adapter: a composition's labelled frames from the store as deepmd/npy (lpsflow.dataset)."""

import pandas as pd

from lpsflow.dataset import gather, write_deepmd
from lpsflow.joblog import to_file
from lpsflow.settings import Settings
from lpsflow.store import LabelStore

log = to_file(snakemake.log[0])
table = pd.concat([pd.read_csv(p) for p in snakemake.input.manifests], ignore_index=True)
store = LabelStore(Settings.from_config(snakemake.config).dft.execution.store)
systems = gather(store, list(table["key"]), snakemake.params.type_map)
n = write_deepmd(systems, snakemake.output.data)
log.info("%d labelled frames of %d written", n, len(table))
table.to_csv(snakemake.output.labels, index=False)
