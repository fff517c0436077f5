"""The engine contract and what defines a label: the :class:`Engine` protocol, its
:class:`Outcome` and :class:`SetupError`, the registry, the science keys of each engine and
the DFT presets. Engine modules (:mod:`lpsflow.dft.cp2k`, :mod:`lpsflow.dft.mlip`) build on it;
:mod:`lpsflow.dft` registers them and hands out instances (see its docstring for the two kinds
of failure).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ase import Atoms

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


# ---- what an engine's initial-data MD takes (init.aimd) ----
@dataclass(frozen=True)
class AimdSettings:
    """Initial-data MD of every starting cell (``init.aimd``): CP2K AIMD, or the teacher's MD
    with ``dft.engine: mlip``; steps, frames kept every ``every`` steps, K, fs, the CSVR
    thermostat's time constant (fs), seed."""

    steps: int = 100
    every: int = 10
    temperature: float = 600.0  # K
    timestep_fs: float = 1.0  # fs
    thermostat_fs: float = 50.0  # fs, CSVR time constant
    seed: int = 0

    def params(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_params(cls, values: dict) -> AimdSettings:
        return cls(**values)

    @classmethod
    def pick(cls, section: dict) -> AimdSettings:
        """The fields given in ``section`` (the schema fills them all); the rest defaults."""
        return cls(
            **{f.name: section[f.name] for f in dataclasses.fields(cls) if f.name in section}
        )


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

    def md_frames(self, atoms: Atoms, md: AimdSettings, workdir: Path) -> tuple:
        """An initial-data MD run of ``atoms`` (``md``: NVT, CSVR thermostat) in ``workdir``:
        (frames, reason, returncode, wall seconds). Frames are dicts with ``step``,
        ``coords``, ``system`` (a one-frame labelled system, or None) and ``reason`` (why it
        has no label); ``reason`` says why the run stopped early ("" if it did not). Raises
        :class:`SetupError` like :meth:`run`. Used by :mod:`lpsflow.aimd`."""


def register(name: str):
    """Class decorator registering an engine under ``name``."""

    def wrap(cls):
        ENGINES[name] = cls
        cls.name = name
        return cls

    return wrap


#: DFT settings that define a label, per engine (the store key hashes the same keys)
DFT_SCIENCE_KEYS: dict[str, tuple[str, ...]] = {
    "cp2k": (
        "functional",
        "dispersion",
        "basis",
        "potential",
        "cutoff",
        "rel_cutoff",
        "eps_scf",
        "eps_default",
        "smearing_temperature",
        "overrides",
    ),
    "mlip": ("model", "teacher_dispersion"),
}


#: science keys left out of the physics while empty: labels made before the key existed keep
#: their store keys
OMIT_WHEN_EMPTY = frozenset({"overrides"})


def physics_of(settings: dict, keys: tuple[str, ...]) -> dict:
    """The values of ``keys`` in ``settings`` (those of OMIT_WHEN_EMPTY only when set)."""
    return {k: settings[k] for k in keys if k not in OMIT_WHEN_EMPTY or settings.get(k)}


#: the cheap DFT preset, for tests and demos only (labels are not production quality)
DFT_PRESETS = {
    "production": {},
    "cheap": {"basis": "SZV-MOLOPT-SR-GTH", "cutoff": 250, "rel_cutoff": 40},
}


def resolve_dft(dft: dict) -> dict:
    """DFT settings with the preset applied (a preset overrides basis and cutoffs)."""
    out = copy.deepcopy(dft)
    out.update(DFT_PRESETS[dft["preset"]])
    return out


#: engines that label a whole stage in its collecting job: they run in the Python process and
#: cost a fraction of a second per frame (the teacher: about 0.1 s, against 3-4 s to start a
#: job and load the model). The Snakefile asks without importing dpdata (whose cp2kdata
#: plugin adds a log handler that doubles every line Snakemake prints): no engine module
#: imports it at module level.
IN_STAGE_ENGINES = frozenset({"mlip"})


def labels_in_stage(engine: str) -> bool:
    """True if ``engine`` labels a whole stage in its collecting job; an external program
    (CP2K: minutes per frame) gets one job per frame, which a cluster profile may group.
    Either way the labels are the same store entries; only the job layout differs."""
    return engine in IN_STAGE_ENGINES
