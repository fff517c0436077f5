"""Adapter: render results/report.html from the workflow's tables (lpsflow.report).

The page is checked as rendered (``report_problems``); what the check finds is logged and
listed at the top of the page.
"""

from pathlib import Path

from lpsflow.joblog import to_file
from lpsflow.report import build_context, render_checked
from lpsflow.settings import Settings

log = to_file(snakemake.log[0])
p = snakemake.params
store = Settings.from_config(snakemake.config).dft.execution.store  # execution, not a param
context = build_context(snakemake.input, p.science, p.type_map, store, p.msd_runs, p.compositions)
html, problems = render_checked(context)
for problem in problems:
    log.warning("report self-check: %s", problem)
Path(snakemake.output.html).write_text(html)
log.info("report written: %s", snakemake.output.html)
