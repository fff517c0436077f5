"""Labelling engines (DFT or a teacher potential), registered by name (as dpdata does formats).

An engine turns one frame into a labelled ``dpdata.LabeledSystem`` or a failure reason.
Each engine module registers a class with :func:`register`; the rest of the code selects
it by the config's ``dft.engine`` through :func:`get_engine` and never branches on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import dpdata
from ase import Atoms

ENGINES: dict[str, type] = {}


class SetupError(RuntimeError):
    """The engine cannot run at all here (missing program, model that cannot be loaded)."""


@dataclass
class Outcome:
    """Result of one engine attempt: a label, or the reason there is none."""

    system: dpdata.LabeledSystem | None
    reason: str = ""
    wall_s: float = 0.0
    returncode: int | None = None
    info: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.system is not None


class Engine(Protocol):
    """What every DFT engine provides."""

    name: str

    def physics(self) -> dict:
        """Settings that define the label (hashed into the store key)."""

    def run(self, atoms: Atoms, workdir: Path, attempt: int) -> Outcome:
        """Label ``atoms`` in ``workdir``; attempts > 0 use more robust numerics."""


def register(name: str):
    """Class decorator registering an engine under ``name``."""

    def wrap(cls):
        ENGINES[name] = cls
        cls.name = name
        return cls

    return wrap


def get_engine(name: str, settings: dict, threads: int = 1) -> Engine:
    """Instantiate the engine registered as ``name`` with the config's ``dft`` settings."""
    from lpsflow.dft import cp2k, mlip  # noqa: F401  (registers the built-in engines)

    if name not in ENGINES:
        raise KeyError(f"unknown DFT engine {name!r}; known: {sorted(ENGINES)}")
    return ENGINES[name](settings, threads=threads)
