"""Adapter: partial RDFs and anion speciation of a production glass (lpsflow.glass_structure)."""

import json

from ase.io import read

from lpsflow.glass_structure import analyse
from lpsflow.joblog import to_file

log = to_file(snakemake.log[0])
glass = read(snakemake.input.glass)
result = analyse(glass, rmax=min(6.0, 0.49 * min(glass.cell.lengths())))
result["composition"] = snakemake.wildcards.comp
log.info("%s: units %s", snakemake.wildcards.comp, result["units"])
json.dump(result, open(snakemake.output.structure, "w"))
