"""Typed settings of every stage, built once from the validated config.

Each stage has one frozen dataclass (``DftSettings``, ``TrainSettings``, ...). Fields are
split into *science* (they change a result: DFT physics, training inputs, MD schedule,
trust levels, production settings) and *execution* (threads, commands and launchers, time
limits, retries, the store location: how a job runs, not what it computes).

The convention (README, "How settings reach the code"):

- A rule's ``params:`` hold exactly the science values its result depends on, as plain
  dicts from ``<part>.params()`` (Snakemake reruns a job when a param changes, and it only
  compares built-in types); execution values never enter ``params:``.
- A script rebuilds the typed object with ``<Part>.from_params(snakemake.params.<name>)``
  (a missing or unknown field raises, so nothing is dropped silently) and reads execution
  values through ``Settings.from_config(snakemake.config)``.
- New keys: add a field to the stage's dataclass (science or execution part) and to
  :meth:`Settings.from_config`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from lpsflow.config import type_map
from lpsflow.dft.base import DFT_SCIENCE_KEYS, AimdSettings, physics_of, resolve_dft
from lpsflow.exploration import schedule_jobs
from lpsflow.resources import ResourceSettings, teacher_or_production


def _plain(value: Any) -> Any:
    """Tuples as lists (params stay comparable with what a YAML config holds)."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Part:
    """A frozen group of settings that travels through ``params:`` as a plain dict."""

    def params(self) -> dict:
        """Plain dict of every field (what a rule puts in ``params:``)."""
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_params(cls, values: dict):
        """The typed object back from ``params()``; missing or unknown keys raise TypeError."""
        return cls(**values)

    @classmethod
    def pick(cls, section: dict):
        """The fields of this part from a config section (other keys ignored)."""
        return cls(**{f.name: section[f.name] for f in dataclasses.fields(cls)})


# ---- stage 1: sampling and initial frames ----
@dataclass(frozen=True)
class SamplingSettings(Part):
    """Amorphous packing distances (angstrom)."""

    min_distance_li: float
    min_distance_anion: float


@dataclass(frozen=True)
class InitSettings(Part):
    """Initial data: ``method`` (perturb, aimd or both); DP-GEN init_bulk perturbations
    (frames per cell, displacement in angstrom, strain in %); the short AIMD (``aimd``,
    :class:`AimdSettings`); the imported datasets (``imports``, the config's ``init.import``)."""

    n_perturb: int
    atom_displacement: float
    cell_strain: float
    seed: int
    method: str = "perturb"
    aimd: AimdSettings = field(default_factory=AimdSettings)
    imports: list = field(default_factory=list)

    def perturbation(self) -> dict:
        """The perturbation fields only (what ``perturb_structures`` computes from)."""
        keys = ("n_perturb", "atom_displacement", "cell_strain", "seed")
        return {k: getattr(self, k) for k in keys}

    @classmethod
    def pick(cls, section: dict) -> InitSettings:
        values = {
            **section,
            "imports": section.get("import") or [],
            "aimd": AimdSettings.pick(section.get("aimd") or {}),
        }
        return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls) if f.name in values})


# ---- stage 2: DFT labelling ----
@dataclass(frozen=True)
class DftScience(Part):
    """What defines a label: the engine and its physics (preset applied)."""

    engine: str
    physics: dict

    @classmethod
    def from_section(cls, dft: dict) -> DftScience:
        resolved = resolve_dft(dft)
        keys = DFT_SCIENCE_KEYS.get(dft["engine"], ())
        return cls(engine=dft["engine"], physics=physics_of(resolved, keys))


@dataclass(frozen=True)
class DftExecution(Part):
    """How labels are computed: program, cores, time limit (s), retries, the failed-fraction
    limit of a stage, SCF numerics, store."""

    command: str
    threads: int
    timeout_s: float
    max_attempts: int
    retry_failed: bool
    max_failed_fraction: float
    scf: dict
    basis_file: str
    potential_file: str
    data_dir: str
    store: str
    mpi_ranks: int = 1  # MPI ranks of one CP2K run (the label jobs' Slurm tasks)


@dataclass(frozen=True)
class DftSettings:
    science: DftScience
    execution: DftExecution

    def engine_settings(self) -> dict:
        """The flat settings dict an engine takes (lpsflow.dft.get_engine)."""
        return {
            "engine": self.science.engine,
            **self.science.physics,
            **dataclasses.asdict(self.execution),
        }


# ---- stage 3: training ----
@dataclass(frozen=True)
class DatasetSettings(Part):
    """Held-out fraction and quality limits (eV/A, angstrom) of the training data."""

    test_fraction: float
    max_force: float
    min_distance: float


@dataclass(frozen=True)
class MemberSettings(Part):
    """Training steps (from scratch, from previous weights), the base seed and the
    floating-point precision of the networks ("float64" or "float32")."""

    steps: int
    init_steps: int
    seed: int
    precision: str = "float64"


@dataclass(frozen=True)
class TrainSettings:
    dataset: DatasetSettings
    member: MemberSettings
    n_models: int
    from_scratch: bool
    sel_factor: float
    template: str  # a rule input (its content is science, its path is not)
    threads: int  # execution


# ---- stage 4: exploration ----
@dataclass(frozen=True)
class ExploreMd(Part):
    """MD steps per iteration, time step (fs), record interval (steps), velocity seed."""

    steps: list
    timestep_fs: float
    out_freq: int
    seed: int


@dataclass(frozen=True)
class ExploreSettings:
    md: ExploreMd
    jobs: list  # one dict per schedule entry and pressure (lpsflow.exploration)
    command: str  # execution
    threads: int  # execution


# ---- stage 5: selection and the loop ----
@dataclass(frozen=True)
class SelectSettings(Part):
    """Trust levels (eV/A, or dimensionless when relative) and how candidates are chosen.

    ``trust_lo_v``/``trust_hi_v`` (eV/atom, or relative) are optional virial trust levels
    (DP-GEN's model_devi_v_trust_lo/hi); None leaves the virial deviation unused.
    """

    trust_mode: str
    trust_lo: float
    trust_hi: float
    relative_level: float
    max_per_composition: int
    method: str
    seed: int
    trust_lo_v: float | None = None
    trust_hi_v: float | None = None

    @property
    def md_relative_level(self) -> float | None:
        """The level LAMMPS divides the deviation by, or None in absolute mode."""
        return self.relative_level if self.trust_mode == "relative" else None


@dataclass(frozen=True)
class LoopSettings(Part):
    max_iterations: int
    accurate_ratio: float


# ---- stage 6: production MD and transport ----
@dataclass(frozen=True)
class GlassSettings(Part):
    """Melt-quench of the production cell: atoms, K, steps, K/ps, bar, fs, record interval
    (steps), seed. Every stage runs at ``pressure`` (NPT): the density is a result."""

    n_atoms: int
    melt_temperature: float
    melt_steps: int
    quench_to: float
    quench_rate: float  # K/ps of the linear quench from melt_temperature to quench_to
    pressure: float
    anneal_steps: int
    npt_steps: int
    timestep_fs: float
    devi_every: int
    seed: int

    @property
    def quench_steps(self) -> int:
        """MD steps of the quench at ``quench_rate`` (K/ps) and ``timestep_fs``."""
        span = max(self.melt_temperature - self.quench_to, 0.0)
        return int(round(span / self.quench_rate / (self.timestep_fs * 1e-3)))


@dataclass(frozen=True)
class RunSettings(Part):
    """One NVT transport run: steps, fs, Li dump, all-atom dump and deviation intervals
    (steps), seed (replica r of a composition uses ``seed + 1000 r``)."""

    pressure: float
    npt_steps: int
    equilibration_steps: int
    steps: int
    timestep_fs: float
    dump_every: int
    dump_all_every: int
    devi_every: int
    seed: int
    extend_up_to_ps: float  # a non-diffusive recorded run is extended up to this (ps); 0: never


@dataclass(frozen=True)
class FitSettings(Part):
    """MSD analysis: dump intervals (steps), fs, fit window (fractions of the longest lag),
    time blocks of the within-run error, diffusive-regime limits (beta, MSD in angstrom^2),
    fallback Haven ratio, trust_hi (eV/A)."""

    dump_every: int
    dump_all_every: int
    timestep_fs: float
    fit_window: list
    n_blocks: int
    beta_min: float
    msd_min_A2: float
    haven_ratio: float
    trust_hi: float


@dataclass(frozen=True)
class ProductionSettings:
    glass: GlassSettings
    run: RunSettings
    fit: FitSettings
    temperatures: list
    replicas: int  # independent glasses per composition
    threads: int  # execution
    #: further quench rates (K/ps): the same glasses and transport runs at each rate
    quench_rate_sensitivity: list = field(default_factory=list)

    def extension_check(self) -> dict:
        """What decides whether a transport run is extended (lpsflow.production
        .extend_until_diffusive): the fit window and the diffusive limits (beta, MSD in
        angstrom^2); empty when ``run.extend_up_to_ps`` is 0 (no run is extended, so they do
        not enter the MD's result)."""
        if self.run.extend_up_to_ps <= 0:
            return {}
        f = self.fit
        return {
            "fit_window": list(f.fit_window),
            "beta_min": f.beta_min,
            "msd_min_A2": f.msd_min_A2,
        }


@dataclass(frozen=True)
class TeacherMdSettings(Part):
    """The teacher's own MD (``teacher_md``; runs when ``dft.engine`` is mlip), every empty key
    resolved to production's: temperatures (K; only those production also runs are compared),
    NPT, equilibration and recorded steps (teacher steps), whole-cell test frames per run, time
    step (fs), Li dump interval (teacher steps), seed and pressure (bar). The thermostat and
    barostat damping times (fs) and the dump interval in time are production's whatever the
    teacher's step, so that a longer teacher step changes only the integration."""

    temperatures: list
    npt_steps: int
    equilibration_steps: int
    steps: int
    test_frames: int
    timestep_fs: float
    dump_every: int
    seed: int
    pressure_bar: float
    thermostat_damping_fs: float
    barostat_damping_fs: float

    @classmethod
    def resolve(cls, teacher_md: dict, production: dict) -> TeacherMdSettings:
        def own(key):
            return teacher_or_production(teacher_md, production, key)

        dt, production_dt = float(own("timestep_fs")), float(production["timestep_fs"])
        dump_fs = production["dump_every"] * production_dt
        dump_every = round(dump_fs / dt)
        if dump_every < 1 or abs(dump_every * dt - dump_fs) > 1e-9 * dump_fs:
            raise ValueError(
                f"teacher_md.timestep_fs {dt:g} fs does not divide the Li dump interval of "
                f"the DP runs ({production['dump_every']} x {production_dt:g} fs = {dump_fs:g} fs)"
            )
        return cls(
            temperatures=list(own("temperatures")),
            npt_steps=own("npt_steps"),
            equilibration_steps=own("equilibration_steps"),
            steps=own("steps"),
            test_frames=teacher_md["test_frames"],
            timestep_fs=dt,
            dump_every=dump_every,
            seed=production["seed"],
            pressure_bar=production["pressure"],
            thermostat_damping_fs=100 * production_dt,  # as lpsflow.production's LAMMPS fixes
            barostat_damping_fs=1000 * production_dt,
        )

    def compared_temperatures(self, production_temperatures: list) -> list:
        """The teacher temperatures that the DP production also ran (the compared ones)."""
        return [t for t in self.temperatures if t in production_temperatures]


# ---- all stages ----
@dataclass(frozen=True)
class Settings:
    compositions: dict  # name -> composition entry (science)
    type_map: list
    sampling: SamplingSettings
    init: InitSettings
    dft: DftSettings
    train: TrainSettings
    explore: ExploreSettings
    select: SelectSettings
    loop: LoopSettings
    production: ProductionSettings
    teacher_md: TeacherMdSettings
    #: execution: time limits, memory and GPUs of the heavy jobs (lpsflow.resources)
    resources: ResourceSettings = field(default_factory=ResourceSettings)

    @classmethod
    def from_config(cls, config: dict) -> Settings:
        """Every stage's settings from a config validated against the schema (defaults set)."""
        dft, train, explore = config["dft"], config["train"], config["explore"]
        prod, select = config["production"], config["select"]
        return cls(
            compositions={c["name"]: c for c in config["compositions"]},
            type_map=type_map(config),
            sampling=SamplingSettings.pick(config["sampling"]),
            init=InitSettings.pick(config["init"]),
            dft=DftSettings(DftScience.from_section(dft), DftExecution.pick(dft)),
            train=TrainSettings(
                dataset=DatasetSettings.pick(train),
                member=MemberSettings.pick(train),
                n_models=train["n_models"],
                from_scratch=train["from_scratch"],
                sel_factor=train["sel_factor"],
                template=train["template"],
                threads=train["threads"],
            ),
            explore=ExploreSettings(
                md=ExploreMd.pick(explore),
                jobs=schedule_jobs(explore["schedule"]),
                command=explore["command"],
                threads=explore["threads"],
            ),
            select=SelectSettings(
                **{
                    f.name: select.get(f.name, f.default)
                    for f in dataclasses.fields(SelectSettings)
                }
            ),
            loop=LoopSettings.pick(config["loop"]),
            production=ProductionSettings(
                glass=GlassSettings.pick(prod),
                run=RunSettings.pick(prod),
                fit=FitSettings.pick({**prod, "trust_hi": select["trust_hi"]}),
                temperatures=list(prod["temperatures"]),
                replicas=prod["replicas"],
                threads=prod["threads"],
                quench_rate_sensitivity=[float(q) for q in prod["quench_rate_sensitivity"]],
            ),
            teacher_md=TeacherMdSettings.resolve(config["teacher_md"], prod),
            resources=ResourceSettings.from_config(config),
        )

    def science(self) -> dict:
        """Every science value of the campaign as a plain dict (the report's digest)."""
        return _plain(
            {
                "compositions": list(self.compositions.values()),
                "type_map": self.type_map,
                "sampling": self.sampling.params(),
                "init": self.init.params(),
                "dft": self.dft.science.params(),
                "train": {
                    **self.train.dataset.params(),
                    **self.train.member.params(),
                    "n_models": self.train.n_models,
                    "from_scratch": self.train.from_scratch,
                    "sel_factor": self.train.sel_factor,
                },
                "explore": {**self.explore.md.params(), "jobs": self.explore.jobs},
                "select": self.select.params(),
                "loop": self.loop.params(),
                "production": {
                    **self.production.glass.params(),
                    **self.production.run.params(),
                    **self.production.fit.params(),
                    "temperatures": self.production.temperatures,
                    "replicas": self.production.replicas,
                    "quench_rate_sensitivity": self.production.quench_rate_sensitivity,
                },
            }
        )
