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


def stop(log: logging.Logger, error: Exception) -> None:
    """End the job with ``error``'s message in its log and on the terminal (exit status 1).

    For errors whose message says everything (a broken setup, too many failures): no
    traceback, the message is the diagnosis.
    """
    message = f"{type(error).__name__}: {error}"
    log.error("%s", message)
    print(f"\nERROR {message}\n", file=sys.__stderr__, flush=True)
    raise SystemExit(1)
