"""Adapter: render results/report.html from the workflow's tables (lpsflow.report)."""

from pathlib import Path

from lpsflow.joblog import to_file
from lpsflow.report import build_context, render

log = to_file(snakemake.log[0])
p = snakemake.params
context = build_context(snakemake.input, p.config, p.type_map, p.store)
Path(snakemake.output.html).write_text(render(context))
log.info("report written: %s", snakemake.output.html)
