"""Adapter: training and test data of one iteration from the label tables (lpsflow.dataset)."""

import pandas as pd

from lpsflow.dataset import build_dataset
from lpsflow.joblog import to_file
from lpsflow.store import LabelStore

log = to_file(snakemake.log[0])
labels = pd.concat([pd.read_csv(p) for p in snakemake.input.labels], ignore_index=True)
p = snakemake.params
table = build_dataset(
    LabelStore(p.store), labels, p.type_map, p.test_fraction, snakemake.output.data
)
log.info("frames per split and composition:\n%s", table.groupby(["composition", "split"]).size())
table.to_csv(snakemake.output.table, index=False)
