"""Adapter: DFT vs DeePMD energies and forces of the final model on its held-out test set."""

import json
from pathlib import Path

import dpdata
import numpy as np
import pandas as pd

from lpsflow.evaluation import predict
from lpsflow.joblog import to_file

log = to_file(snakemake.log[0])
manifest_path = Path(snakemake.input.manifest)
manifest = json.loads(manifest_path.read_text())  # the export names its files
graph = str(manifest_path.parent / manifest["reference_model"])
data = manifest_path.parent / manifest["data"]
rows = []
for split in ("test", "train"):
    for folder in sorted((data / split).glob("**/type_map.raw")):
        # test/<composition>/<formula>/type_map.raw; one training set for all compositions
        comp = folder.parent.relative_to(data / split).parts[0] if split == "test" else "all"
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
