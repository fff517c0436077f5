"""Adapter: descriptor sel from the neighbour statistics of the first data (lpsflow.training)."""

import json

from lpsflow.joblog import to_file
from lpsflow.training import neighbor_sel, system_dirs

log = to_file(snakemake.log[0])
p = snakemake.params
rcut = json.load(open(snakemake.input.template))["model"]["descriptor"]["rcut"]
systems = system_dirs(f"{snakemake.input.data}/train") + system_dirs(f"{snakemake.input.data}/test")
if not systems:  # build_dataset stops first; this guards against a hand-made data folder
    raise SystemExit(
        f"no labelled frames in {snakemake.input.data}: see results/init/failures.csv "
        "and results/iter_000/dataset.csv"
    )
sel = neighbor_sel(systems, rcut, p.type_map, p.factor)
log.info("sel %s for type map %s at rcut %s (factor %s)", sel, p.type_map, rcut, p.factor)
json.dump({"sel": sel, "rcut": rcut, "type_map": p.type_map}, open(snakemake.output.sel, "w"))
