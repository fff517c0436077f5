"""Adapter: render results/report.html from the workflow's tables (lpsflow.report)."""

from pathlib import Path

from lpsflow.joblog import to_file
from lpsflow.report import build_context, render
from lpsflow.settings import Settings

log = to_file(snakemake.log[0])
p = snakemake.params
store = Settings.from_config(snakemake.config).dft.execution.store  # execution, not a param
context = build_context(snakemake.input, p.science, p.type_map, store)
Path(snakemake.output.html).write_text(render(context))
log.info("report written: %s", snakemake.output.html)
