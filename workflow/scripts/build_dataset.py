"""Adapter: training and test data of one iteration from the label tables (lpsflow.dataset).

Fails (lpsflow.dataset.NoUsableData) when a composition has no usable labelled frame.
"""

import pandas as pd

from lpsflow.dataset import NoUsableData, build_dataset, check_usable
from lpsflow.joblog import stop, to_file
from lpsflow.settings import DatasetSettings, Settings
from lpsflow.store import LabelStore

log = to_file(snakemake.log[0])
labels = pd.concat([pd.read_csv(p) for p in snakemake.input.labels], ignore_index=True)
p = snakemake.params
data = DatasetSettings.from_params(p.dataset)
store = LabelStore(Settings.from_config(snakemake.config).dft.execution.store)
table = build_dataset(
    store,
    labels,
    p.type_map,
    data.test_fraction,
    snakemake.output.data,
    max_force=data.max_force,
    min_distance=data.min_distance,
)
log.info("frames per split and composition:\n%s", table.groupby(["composition", "split"]).size())
try:
    where = {
        c: f"{snakemake.input.failures} and results/init/{c}/labels.csv"
        for c in labels["composition"]
    }
    check_usable(labels, table, where)
except NoUsableData as err:
    stop(log, err)
table.to_csv(snakemake.output.table, index=False)
