"""Time limits, memory, MPI ranks and GPUs of the heavy jobs, sized from the config.

Execution settings only: these values reach Snakemake through ``resources:`` callables,
never ``params:``, so changing them (or the measured speeds behind them) never reruns a
finished job. The estimate of an MD job is

    runtime (min) = atoms x steps / (atom-steps/s per core x cores) x safety / 60 + overhead

with the measured speeds of ``resources:`` in the config (docs/benchmarks.md, where each
default was measured). A job never asks for less than ``resources.min_runtime_min``.

Units: runtime in minutes, memory in MB (Slurm's ``--time`` and ``--mem``), speeds in
atom-steps per second per core, training in seconds per step of one job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: atoms of the CP2K cell whose step time ``dft_core_s_per_step`` is (docs/benchmarks.md:
#: 48-atom LPS75 cell, production preset, 1 thread: 502 s per BOMD step)
DFT_REFERENCE_ATOMS = 48
#: the teacher's peak memory (MB) per atom: 5,832 MiB at 1,024 atoms (docs/benchmarks.md,
#: bench/records/dp_vs_aimd_idle.json), as MB
TEACHER_MB_PER_ATOM = 5832 * 1.048576 / 1024


@dataclass(frozen=True)
class ResourceSettings:
    """The config's ``resources`` section (execution settings).

    ``dp_atom_steps_per_s``: compressed DeePMD in LAMMPS per core (atom-steps/s);
    ``teacher_atom_steps_per_s``: the teacher's MD per core; ``dft_core_s_per_step``: core
    seconds of one CP2K step of a :data:`DFT_REFERENCE_ATOMS`-atom cell (scaled with the
    cube of the atom count); ``train_s_per_step``: seconds per DeePMD training step of one
    job; ``safety``: factor on every estimate; ``min_runtime_min`` and ``overhead_min``:
    minutes (start-up, model loading); ``mem_mb_per_cpu``: memory of a job without a
    known need; ``gpus``: GPUs per job of training, exploration and production (0: none);
    ``gpu_model``: the Slurm GPU type ("" for any); ``gpu_speedup``: how much faster a GPU
    job runs than its CPU cores (1: size GPU jobs as CPU jobs).
    """

    dp_atom_steps_per_s: float = 6000.0
    teacher_atom_steps_per_s: float = 354.0
    dft_core_s_per_step: float = 502.0
    train_s_per_step: float = 0.15
    safety: float = 2.0
    min_runtime_min: int = 10
    overhead_min: float = 5.0
    mem_mb_per_cpu: int = 2000
    gpus: int = 0
    gpu_model: str = ""
    gpu_speedup: float = 1.0

    @classmethod
    def from_config(cls, config: dict) -> ResourceSettings:
        section = config.get("resources") or {}
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in section.items() if k in known})


def md_minutes(
    atoms: int, steps: int, atom_steps_per_s: float, cores: int, r: ResourceSettings
) -> float:
    """Estimated minutes of an MD run: atoms x steps at ``atom_steps_per_s`` per core."""
    seconds = atoms * steps / (atom_steps_per_s * max(cores, 1))
    return seconds * r.safety / 60.0 + r.overhead_min


def limit(minutes: float, r: ResourceSettings) -> int:
    """A whole-minute time limit at or above ``minutes`` and ``r.min_runtime_min``."""
    return max(int(math.ceil(minutes)), r.min_runtime_min)


def gpu_resources(r: ResourceSettings) -> dict:
    """The plugin's own GPU resources (``gpu``, ``gpu_model``) when ``r.gpus`` > 0, else {}."""
    if r.gpus <= 0:
        return {}
    out: dict = {"gpu": int(r.gpus)}
    if r.gpu_model:
        out["gpu_model"] = r.gpu_model
    return out


def _dp_speed(r: ResourceSettings) -> float:
    return r.dp_atom_steps_per_s * (r.gpu_speedup if r.gpus > 0 else 1.0)


# ---- per rule: what each heavy job does, from the config ----
def production_steps(config: dict) -> int:
    """MD steps of one ``run_production`` job: NPT, NVT equilibration, the recorded run
    (or its extension up to ``extend_up_to_ps``, whichever is longer)."""
    p = config["production"]
    recorded = max(int(p["steps"]), int(p.get("extend_up_to_ps", 0) * 1000 / p["timestep_fs"]))
    return int(p["npt_steps"]) + int(p["equilibration_steps"]) + recorded


def glass_steps(config: dict, quench_rate: float | None = None) -> int:
    """MD steps of one ``make_glass`` job: melt, linear quench (at ``quench_rate`` K/ps,
    default ``production.quench_rate``), anneal and NPT averaging."""
    p = config["production"]
    span = max(p["melt_temperature"] - p["quench_to"], 0.0)
    rate = p["quench_rate"] if quench_rate is None else quench_rate
    quench = int(round(span / rate / (p["timestep_fs"] * 1e-3)))
    return int(p["melt_steps"]) + quench + int(p["anneal_steps"]) + int(p["npt_steps"])


def teacher_or_production(teacher_md: dict, production: dict, key: str):
    """``teacher_md[key]``, or the production's where the teacher's is null or absent: the one
    fallback rule of the teacher MD keys (:meth:`lpsflow.settings.TeacherMdSettings.resolve`)."""
    value = (teacher_md or {}).get(key)
    return production[key] if value is None else value


def teacher_steps(config: dict) -> int:
    """MD steps of one ``teacher_md`` job (its nulls fall back to the production's)."""
    t, p = config.get("teacher_md"), config["production"]
    keys = ("npt_steps", "equilibration_steps", "steps")
    return sum(int(teacher_or_production(t, p, key)) for key in keys)


def production_atoms(config: dict) -> int:
    return int(config["production"]["n_atoms"])


def run_production(config: dict, threads: int) -> dict:
    """Resources of one ``run_production`` job."""
    r = ResourceSettings.from_config(config)
    minutes = md_minutes(
        production_atoms(config), production_steps(config), _dp_speed(r), threads, r
    )
    return {"runtime": limit(minutes, r), "mem_mb_per_cpu": r.mem_mb_per_cpu, **gpu_resources(r)}


def make_glass(config: dict, threads: int, quench_rate: float | None = None) -> dict:
    """Resources of one ``make_glass`` job (CPU: the GPU switch covers training,
    exploration and production runs only)."""
    r = ResourceSettings.from_config(config)
    steps = glass_steps(config, quench_rate)
    minutes = md_minutes(production_atoms(config), steps, r.dp_atom_steps_per_s, threads, r)
    return {"runtime": limit(minutes, r), "mem_mb_per_cpu": r.mem_mb_per_cpu}


def teacher_md(config: dict, threads: int) -> dict:
    """Resources of one ``teacher_md`` job; memory from the teacher's measured need."""
    r = ResourceSettings.from_config(config)
    atoms = production_atoms(config)
    minutes = md_minutes(atoms, teacher_steps(config), r.teacher_atom_steps_per_s, threads, r)
    mem = int(math.ceil(TEACHER_MB_PER_ATOM * atoms * r.safety))
    return {"runtime": limit(minutes, r), "mem_mb": max(mem, r.mem_mb_per_cpu * threads)}


def explore_md(config: dict, threads: int, iteration: int, atoms: int, n_jobs: int) -> dict:
    """Resources of one ``explore_md`` job: ``n_jobs`` schedule runs of ``atoms`` atoms
    with ``explore.steps`` of ``iteration``, run ``threads`` at a time, one core each, with
    an ensemble of ``train.n_models`` models (the deviation costs one evaluation per model
    at every step, so the speed is divided by the ensemble size)."""
    r = ResourceSettings.from_config(config)
    steps_list = config["explore"]["steps"]
    steps = int(steps_list[min(iteration, len(steps_list) - 1)])
    waves = math.ceil(n_jobs / max(threads, 1))
    speed = _dp_speed(r) / max(int(config["train"]["n_models"]), 1)
    minutes = waves * (md_minutes(atoms, steps, speed, 1, r) - r.overhead_min) + r.overhead_min
    return {"runtime": limit(minutes, r), "mem_mb_per_cpu": r.mem_mb_per_cpu, **gpu_resources(r)}


def train_model(config: dict, from_weights: bool) -> dict:
    """Resources of one ``train_model`` job: steps x the measured seconds per step."""
    r = ResourceSettings.from_config(config)
    t = config["train"]
    steps = int(t["init_steps"] if from_weights and not t["from_scratch"] else t["steps"])
    speed = r.gpu_speedup if r.gpus > 0 else 1.0
    minutes = steps * r.train_s_per_step / speed * r.safety / 60.0 + r.overhead_min
    return {"runtime": limit(minutes, r), "mem_mb_per_cpu": r.mem_mb_per_cpu, **gpu_resources(r)}


def dft_ranks(config: dict) -> int:
    """MPI ranks of one CP2K run (``dft.mpi_ranks``)."""
    return int(config["dft"].get("mpi_ranks", 1))


def mpi_resources(config: dict) -> dict:
    """``tasks`` (ranks) and, with more than one rank, ``mpi`` (the launcher) as
    snakemake-executor-plugin-slurm expects: with ``mpi`` set, the job step does not wrap
    the job in ``srun -n1``, and the CP2K command's own ``srun`` starts ``tasks`` ranks.
    One rank declares no ``mpi`` (the plugin refuses an MPI job of one task)."""
    ranks = dft_ranks(config)
    return {"tasks": ranks, "mpi": "srun"} if ranks > 1 else {"tasks": 1}


def label_frame(config: dict) -> dict:
    """Resources of one labelling job: up to ``dft.max_attempts`` CP2K runs, each at most
    ``dft.timeout_s``; MPI ranks from ``dft.mpi_ranks``."""
    r = ResourceSettings.from_config(config)
    d = config["dft"]
    minutes = d["timeout_s"] * d["max_attempts"] / 60.0 + r.overhead_min
    return {
        "runtime": limit(minutes, r),
        "mem_mb_per_cpu": r.mem_mb_per_cpu,
        **mpi_resources(config),
    }


def aimd_init(config: dict, atoms: int, threads: int = 1) -> dict:
    """Resources of one ``aimd_init`` job: ``init.aimd.steps`` CP2K steps of ``atoms`` atoms,
    the measured step time scaled by (atoms / 48)^3, over the job's cores (ranks x threads);
    with the teacher (``dft.engine: mlip``) its own MD at the teacher's measured speed, in
    the job's process (no MPI ranks)."""
    r = ResourceSettings.from_config(config)
    steps = int(config["init"]["aimd"]["steps"]) + 1
    if config["dft"]["engine"] == "mlip":
        minutes = md_minutes(atoms, steps, r.teacher_atom_steps_per_s, threads, r)
        return {"runtime": limit(minutes, r), "mem_mb_per_cpu": r.mem_mb_per_cpu}
    cores = dft_ranks(config) * int(config["dft"]["threads"])
    per_step = r.dft_core_s_per_step * (atoms / DFT_REFERENCE_ATOMS) ** 3 / max(cores, 1)
    minutes = steps * per_step * r.safety / 60.0 + r.overhead_min
    return {
        "runtime": limit(minutes, r),
        "mem_mb_per_cpu": r.mem_mb_per_cpu,
        **mpi_resources(config),
    }


#: the rules whose resources this module sizes; the GPU switch covers the first three
GPU_RULES = ("train_model", "explore_md", "run_production")
SIZED_RULES = (
    *GPU_RULES,
    "make_glass",
    "make_glass_at_rate",
    "teacher_md",
    "label_frame",
    "label_candidate",
    "aimd_init",
)


def rule_resources(rule: str, config: dict, n_explore_jobs: int = 1) -> dict:
    """The ``resources:`` of ``rule`` for a Snakefile (``resources: **rule_resources(...)``):
    fixed values and callables of (wildcards, threads), so a profile's ``set-threads`` is
    taken into account. ``n_explore_jobs``: schedule runs of one exploration job."""
    r = ResourceSettings.from_config(config)
    atoms = {c["name"]: int(c["n_atoms"]) for c in config["compositions"]}
    mem = {"mem_mb_per_cpu": r.mem_mb_per_cpu}
    sized = {
        "run_production": lambda wildcards, threads: run_production(config, threads),
        "make_glass": lambda wildcards, threads: make_glass(config, threads),
        "make_glass_at_rate": lambda wildcards, threads: make_glass(
            config, threads, float(wildcards.rate)
        ),
        "explore_md": lambda wildcards, threads: explore_md(
            config, threads, int(wildcards.iter), atoms[wildcards.comp], n_explore_jobs
        ),
        "train_model": lambda wildcards, threads: train_model(config, int(wildcards.iter) > 0),
        "aimd_init": lambda wildcards, threads: aimd_init(config, atoms[wildcards.comp], threads),
        "label_frame": lambda wildcards, threads: label_frame(config),
        "label_candidate": lambda wildcards, threads: label_frame(config),
    }
    if rule == "teacher_md":
        return {
            "runtime": lambda wildcards, threads: teacher_md(config, threads)["runtime"],
            "mem_mb": lambda wildcards, threads: teacher_md(config, threads)["mem_mb"],
        }
    if rule not in sized:
        raise KeyError(f"no resource estimate for rule {rule!r}; known: {SIZED_RULES}")
    estimate = sized[rule]
    out = {"runtime": lambda wildcards, threads: estimate(wildcards, threads)["runtime"], **mem}
    if rule in GPU_RULES:
        out.update(gpu_resources(r))
    if rule in ("label_frame", "label_candidate") or (
        rule == "aimd_init" and config["dft"]["engine"] != "mlip"
    ):
        out.update(mpi_resources(config))
    return out
