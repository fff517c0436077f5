"""Labelling engines (DFT or a teacher potential), registered by name (as dpdata does formats).

An engine turns one frame into a labelled ``dpdata.LabeledSystem`` or a failure reason.
Each engine module registers a class with :func:`register`; the rest of the code selects
it by the config's ``dft.engine`` through :func:`get_engine` and never branches on it.

Two kinds of failure
--------------------
A failure of the *frame* (the SCF does not converge, the program crashes after the SCF
started, the time limit) is returned as an :class:`Outcome` with a ``reason``; the
labelling code retries it with robust settings, then stores it as failed and goes on.

A failure of the *setup* (data files or basis/pseudopotential names not found, a launcher
or module that does not start the program, a licence, a teacher model that does not load:
every frame would fail the same way) is raised by :meth:`Engine.run` as
:class:`SetupError`, naming the config key and the likely cause. The labelling code never
retries or stores it; the labelling job fails at once with its message.
"""

from __future__ import annotations

from lpsflow.dft import cp2k, mlip  # noqa: F401  (registers the built-in engines)
from lpsflow.dft.base import (  # noqa: F401  (the engine interface, one import away)
    DFT_PRESETS,
    DFT_SCIENCE_KEYS,
    ENGINES,
    Engine,
    Outcome,
    SetupError,
    failure_kind,
    labels_in_stage,
    physics_of,
    register,
    resolve_dft,
)


def get_engine(name: str, settings: dict, threads: int = 1) -> Engine:
    """Instantiate the engine registered as ``name`` with the config's ``dft`` settings
    (preset applied)."""
    if name not in ENGINES:
        raise KeyError(f"unknown DFT engine {name!r}; known: {sorted(ENGINES)}")
    return ENGINES[name](settings, threads=threads)
