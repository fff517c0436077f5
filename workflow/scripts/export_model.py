"""Adapter: the final ensemble, a compressed model and the training data into results/model/."""

import json
import shutil
from pathlib import Path

from lpsflow.joblog import to_file
from lpsflow.training import compress

log = to_file(snakemake.log[0])
out = Path(snakemake.output.manifest).parent
files = []
for m, graph in enumerate(snakemake.input.models):  # member m of the ensemble
    shutil.copy(graph, out / f"graph_{m}.pb")
    shutil.copy(Path(graph).with_name("input.json"), out / f"input_{m}.json")
    files += [f"graph_{m}.pb", f"input_{m}.json"]
if snakemake.params.compress:
    with open(snakemake.log[0], "a") as dp_log:
        compress(out / "graph_0.pb", out / "graph_0_compressed.pb", snakemake.threads, dp_log)
    files.append("graph_0_compressed.pb")
shutil.rmtree(out / "data", ignore_errors=True)
shutil.copytree(snakemake.input.data, out / "data")
manifest = {
    "iteration": int(snakemake.params.iteration),
    "type_map": snakemake.params.type_map,
    "models": files,
    "reference_model": "graph_0.pb",
    "data": "data",
    "data_layout": "train/ and test/<composition>/ in deepmd/npy",
}
json.dump(manifest, open(snakemake.output.manifest, "w"), indent=1)
log.info("exported %s", manifest)
