"""Adapter: DFT vs DeePMD energies and forces of the final model on its held-out test set."""

from pathlib import Path

import dpdata
import numpy as np
import pandas as pd

from lpsflow.evaluation import predict
from lpsflow.joblog import to_file

log = to_file(snakemake.log[0])
model_dir = Path(snakemake.input.manifest).parent
graph = str(model_dir / "graph_0.pb")
rows = []
for split in ("test", "train"):
    for folder in sorted((model_dir / "data" / split).glob("**/type_map.raw")):
        comp = folder.parent.parent.name if split == "test" else "all"
        system = dpdata.LabeledSystem(str(folder.parent), fmt="deepmd/npy")
        if len(system):
            pred = predict(graph, system)
            n = system.get_natoms()
            for dft, dp in zip(system["energies"] / n, pred["energies"] / n, strict=True):
                rows.append(
                    {
                        "split": split,
                        "composition": comp,
                        "quantity": "energy_eV_atom",
                        "dft": dft,
                        "dp": dp,
                    }
                )
            for dft, dp in zip(system["forces"].ravel(), pred["forces"].ravel(), strict=True):
                rows.append(
                    {
                        "split": split,
                        "composition": comp,
                        "quantity": "force_eV_A",
                        "dft": dft,
                        "dp": dp,
                    }
                )
table = pd.DataFrame(rows, columns=["split", "composition", "quantity", "dft", "dp"])
log.info(
    "%d parity rows; test force RMSE %.4f",
    len(table),
    np.sqrt(
        np.mean((table.query("split == 'test' and quantity == 'force_eV_A'").eval("dp - dft")) ** 2)
    )
    if len(table)
    else float("nan"),
)
table.to_csv(snakemake.output.parity, index=False)
