"""Adapter: RMSE of every member on the test and training sets (lpsflow.evaluation)."""

from pathlib import Path

import dpdata
import pandas as pd

from lpsflow.evaluation import errors
from lpsflow.joblog import to_file

log = to_file(snakemake.log[0])
data = Path(snakemake.input.data)
sets = {("test", d.name): d for d in sorted((data / "test").iterdir()) if d.is_dir()}
sets[("train", "all")] = data / "train"
rows = []
for (split, comp), folder in sets.items():
    systems = list(
        dpdata.MultiSystems().from_deepmd_npy(str(folder), labeled=True).systems.values()
    )
    for member, graph in enumerate(snakemake.input.models):
        rows.append(
            {"split": split, "composition": comp, "model": member, **errors(graph, systems)}
        )
table = pd.DataFrame(rows)
log.info("\n%s", table.to_string(index=False))
table.to_csv(snakemake.output.rmse, index=False)
