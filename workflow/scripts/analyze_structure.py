"""Adapter: structure averaged over one transport run (lpsflow.glass_structure)."""

import json

from lpsflow.glass_structure import analyse_run, read_frames
from lpsflow.joblog import to_file

log = to_file(snakemake.log[0])
result = analyse_run(read_frames(snakemake.input.frames, snakemake.params.type_map))
result.update(composition=snakemake.wildcards.comp, temperature_K=float(snakemake.wildcards.temp))
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
