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

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ase import Atoms

from lpsflow.settings import labels_in_stage  # noqa: F401  (re-exported)

if TYPE_CHECKING:  # dpdata is imported where labels are made: the Snakefile asks engines
    import dpdata  # for their level of theory, and dpdata's plugins add a log handler

ENGINES: dict[str, type] = {}


class SetupError(RuntimeError):
    """The labelling setup is broken: every frame would fail the same way.

    ``key`` is the config key most likely at fault (``dft.data_dir``, ``dft.command``,
    ...), ``cause`` a one-line explanation, ``evidence`` where to read more (an output file).
    """

    def __init__(self, key: str, cause: str, evidence: str = ""):
        self.key, self.cause, self.evidence = key, cause, evidence
        text = f"labelling setup is broken ({key}): {cause}"
        if evidence:
            text += f" [see {evidence}]"
        super().__init__(text + "; no frame was stored as failed, fix the setup and run again")


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


#: failure reason prefixes of frame failures, by kind. "crash"-kind failures are retried on
#: the next run (they may be transient: a node or file-system problem, an OOM kill).
FAILURE_KINDS = {
    "scf_not_converged": "scf",
    "non_finite": "scf",
    "timeout": "timeout",
    "crash": "crash",
    "incomplete": "crash",
    "parse": "crash",
}


def failure_kind(reason: str) -> str:
    """Kind of a frame failure reason: ``scf``, ``timeout`` or ``crash`` (unknown: crash)."""
    return FAILURE_KINDS.get(reason.split(":")[0].strip(), "crash")


class Engine(Protocol):
    """What every DFT engine provides.

    ``physics``, ``theory`` and ``run`` are required. ``strategy`` and ``version`` are
    optional (the labelling code uses ``getattr``): a stored frame failure remembers both,
    and is retried when either differs at the next run. Constructing an engine is cheap
    (no program or model is loaded), so the workflow asks for its ``theory`` at parse time.
    """

    name: str

    def physics(self) -> dict:
        """Settings that define the label (hashed into the store key)."""

    def theory(self) -> dict:
        """Level of theory of the labels, as :mod:`lpsflow.importing` compares and prints
        it: a DFT engine gives functional, dispersion, basis, potential, cutoff and
        rel_cutoff (Ry); a teacher potential gives model, model_version and dispersion."""

    def run(self, atoms: Atoms, workdir: Path, attempt: int) -> Outcome:
        """Label ``atoms`` in ``workdir``; attempts > 0 use more robust numerics.

        Raises :class:`SetupError` when the run shows that the setup, not the frame, is
        broken (the program aborted before its first SCF step, could not be launched, ...).
        """

    def strategy(self) -> dict:
        """Settings that decide whether a frame fails but not its label (SCF strategy,
        time limit); optional."""

    def version(self) -> str:
        """Version of the program that computes labels ("" if unknown); optional."""


def register(name: str):
    """Class decorator registering an engine under ``name``."""

    def wrap(cls):
        ENGINES[name] = cls
        cls.name = name
        return cls

    return wrap


def get_engine(name: str, settings: dict, threads: int = 1) -> Engine:
    """Instantiate the engine registered as ``name`` with the config's ``dft`` settings
    (preset applied)."""
    from lpsflow.dft import cp2k, mlip  # noqa: F401  (registers the built-in engines)

    if name not in ENGINES:
        raise KeyError(f"unknown DFT engine {name!r}; known: {sorted(ENGINES)}")
    return ENGINES[name](settings, threads=threads)
