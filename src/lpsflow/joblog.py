"""Logging of workflow jobs: everything (stderr and ``logging``) goes to the job's log file."""

from __future__ import annotations

import logging
import sys


def to_file(path: str) -> logging.Logger:
    """Send stderr and the root logger to ``path``; return the job's logger."""
    sys.stderr = open(path, "a", buffering=1)  # noqa: SIM115  (lives as long as the job)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    return logging.getLogger("lpsflow.job")
