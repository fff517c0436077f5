"""Adapter: structure averaged over one transport run (lpsflow.glass_structure)."""

import json

from ase.io import read

from lpsflow.glass_structure import analyse_run, read_dcd_frames
from lpsflow.joblog import to_file

log = to_file(snakemake.log[0])
start = read(snakemake.input.glass)  # atom order of the run: the elements of all.dcd
try:
    result = analyse_run(read_dcd_frames(snakemake.input.frames, start))
except Exception as err:  # noqa: BLE001  (a run that died before its first all-atom frame)
    log.warning("no structure over the run: %s; the glass itself is analysed", err)
    result = analyse_run([start])
result.update(
    composition=snakemake.wildcards.comp,
    replica=int(snakemake.wildcards.replica),
    temperature_K=float(snakemake.wildcards.temp),
)
log.info(
    "%s at %s K: %d frames, P fractions %s, unit change %.3f, P RMS displacement %.2f A",
    snakemake.wildcards.comp,
    snakemake.wildcards.temp,
    result["n_frames"],
    result["p_fraction"],
    result["unit_change"],
    result["p_rms_displacement_A"],
)
json.dump(result, open(snakemake.output.structure, "w"), indent=1)
