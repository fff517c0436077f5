"""Adapter: one init.import dataset into the label store (lpsflow.importing)."""

import pandas as pd

from lpsflow.importing import import_labels
from lpsflow.joblog import to_file
from lpsflow.settings import Settings
from lpsflow.store import LabelStore

log = to_file(snakemake.log[0])
p = snakemake.params
entry = {
    "name": snakemake.wildcards.imp,
    "format": p.format,
    "path": snakemake.input.data,
    "composition": p.composition,
    "stride": p.stride,
    "cp2k_output": p.cp2k_output or None,
    "theory": p.theory,
    "allow_mixed_theory": p.allow_mixed_theory,
}
store = LabelStore(Settings.from_config(snakemake.config).dft.execution.store)
rows = import_labels(entry, store)
table = pd.DataFrame(rows)
log.info(
    "%d frames imported from %s (%s), %d already in the store",
    len(table),
    entry["path"],
    entry["format"],
    int(table["reused"].sum()),
)
table.to_csv(snakemake.output.labels, index=False)
