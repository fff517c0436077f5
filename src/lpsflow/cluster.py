"""Plain-language diagnosis of failed cluster jobs from Slurm's job logs."""

from __future__ import annotations

import re
from pathlib import Path

#: (pattern in a Slurm job log, what it means and what to change)
SLURM_FAILURES = [
    (
        re.compile(r"CANCELLED AT \S+ DUE TO TIME LIMIT"),
        "hit its time limit: raise `runtime` (minutes) for rule {rule} under set-resources in "
        "slurm/config.yaml",
    ),
    (
        re.compile(r"oom[_-]kill|Exceeded (job|step) memory limit|OUT_OF_MEMORY", re.IGNORECASE),
        "ran out of memory: raise `mem_mb_per_cpu` (or `mem_mb`) for rule {rule} under "
        "set-resources in slurm/config.yaml",
    ),
    (
        re.compile(r"CANCELLED AT \S+ DUE TO PREEMPTION|NODE_FAIL|DUE TO NODE FAILURE"),
        "was stopped by the cluster (preemption or node failure): run again with the same "
        "command; finished DFT labels are kept in the store",
    ),
]


def diagnose(logdir: str | Path) -> list[str]:
    """One sentence per Slurm job log under ``logdir`` that shows a known failure.

    The plugin writes logs as ``<logdir>/rule_<rule>/<wildcards>/<jobid>.log``.
    """
    messages = []
    for log in sorted(Path(logdir).rglob("*.log")):
        text = log.read_text(errors="replace")
        rule = log.relative_to(logdir).parts[0].removeprefix("rule_")
        for pattern, advice in SLURM_FAILURES:
            if pattern.search(text):
                messages.append(f"Slurm job {log.stem} ({log}) " + advice.format(rule=rule))
                break
    return messages
