"""Model-deviation MD with LAMMPS and the DeePMD ensemble (pair_style deepmd m1 m2 ...).

Each exploration job runs one schedule entry (ensemble, temperature or ramp, pressure) for
one composition; the ensemble's force deviation is written every ``out_freq`` steps to
``model_devi.out`` and the frames at the same steps to ``traj.dump``.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from ase import Atoms

from lpsflow.launch import program_env
from lpsflow.training import dp_env, python_tool

FS_TO_PS = 1e-3


def schedule_jobs(schedule: list[dict]) -> list[dict]:
    """One job per schedule entry and pressure: {ensemble, t_start, t_end, pressure}."""
    jobs = []
    for entry in schedule:
        temps = entry["temperature"]
        t0, t1 = (temps, temps) if isinstance(temps, (int, float)) else (temps[0], temps[-1])
        pressures = entry.get("pressures", [None]) if entry["ensemble"] == "npt" else [None]
        for p in pressures:
            jobs.append({"ensemble": entry["ensemble"], "t_start": t0, "t_end": t1, "pressure": p})
    return jobs


def steps_for(iteration: int, steps: list[int]) -> int:
    """MD steps of ``iteration``: the list's entry, its last entry once past the end."""
    return int(steps[min(iteration, len(steps) - 1)])


def lammps_input(
    job: dict,
    models: list[str],
    type_map: list[str],
    steps: int,
    timestep_fs: float,
    out_freq: int,
    seed: int,
    relative_level: float | None = None,
) -> str:
    """LAMMPS input for one exploration job (metal units, data file ``conf.lmp``)."""
    dt = timestep_fs * FS_TO_PS
    rel = f" relative {relative_level}" if relative_level else ""
    t0, t1 = job["t_start"], job["t_end"]
    if job["ensemble"] == "npt":
        p = job["pressure"]
        fix = f"fix integ all npt temp {t0} {t1} {100 * dt} iso {p} {p} {1000 * dt}"
    else:
        fix = f"fix integ all nvt temp {t0} {t1} {100 * dt}"
    return f"""# model-deviation exploration: {job}
units           metal
boundary        p p p
atom_style      atomic
atom_modify     map yes
read_data       conf.lmp
pair_style      deepmd {" ".join(models)} out_freq {out_freq} out_file model_devi.out{rel}
pair_coeff      * * {" ".join(type_map)}
neighbor        1.0 bin
timestep        {dt}
velocity        all create {t0} {seed} dist gaussian mom yes rot yes
thermo_style    custom step temp pe ke etotal press vol
thermo          {out_freq}
dump            traj all custom {out_freq} traj.dump id type x y z
dump_modify     traj sort id
{fix}
run             {steps}
"""


def run_lammps(
    atoms: Atoms,
    text: str,
    type_map: list[str],
    workdir: Path,
    *,
    threads: int,
    command: str = "lmp",
) -> None:
    """Write ``atoms`` as ``conf.lmp`` and run the LAMMPS input ``text`` in ``workdir``."""
    from ase.io import write  # not at module level: common.smk imports this module

    workdir.mkdir(parents=True, exist_ok=True)
    write(workdir / "conf.lmp", atoms, format="lammps-data", specorder=type_map, masses=True)
    (workdir / "in.lammps").write_text(text)
    argv = [*_resolve(shlex.split(command)), "-in", "in.lammps"]
    with open(workdir / "stdout.txt", "w") as out:
        subprocess.run(
            argv,
            cwd=workdir,
            env=program_env(argv, dp_env(threads)),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
        )


def run_md(
    atoms: Atoms,
    job: dict,
    models: list[str],
    type_map: list[str],
    workdir: Path,
    *,
    steps: int,
    timestep_fs: float,
    out_freq: int,
    seed: int,
    threads: int,
    command: str = "lmp",
    relative_level: float | None = None,
) -> None:
    """Run one exploration job in ``workdir`` (LAMMPS log in ``workdir/log.lammps``)."""
    models = [str(Path(m).resolve()) for m in models]
    text = lammps_input(job, models, type_map, steps, timestep_fs, out_freq, seed, relative_level)
    run_lammps(atoms, text, type_map, workdir, threads=threads, command=command)


def run_schedule(
    starts: list[Atoms],
    jobs: list[dict],
    models: list[str],
    type_map: list[str],
    root: Path,
    *,
    seed: int,
    workers: int,
    **md,
) -> None:
    """Run every schedule job j from ``starts[j]`` in ``root/job_<j>``, ``workers`` at a time.

    Each LAMMPS process uses one thread; one Snakemake job per composition and iteration
    keeps the DAG small (the cost of re-evaluating it grows with jobs x iterations).
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(j: int) -> None:
        run_md(
            starts[j],
            jobs[j],
            models,
            type_map,
            root / f"job_{j}",
            seed=seed + 101 * j,
            threads=1,
            **md,
        )

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(one, range(len(jobs))))  # list() re-raises the first failure


def _resolve(argv: list[str]) -> list[str]:
    """A bare ``lmp`` means the LAMMPS installed with deepmd-kit beside this Python."""
    return [python_tool("lmp") if a == "lmp" else a for a in argv]


def read_trajectory(dump: Path, type_map: list[str]) -> list[Atoms]:
    """Frames of a LAMMPS custom dump as ASE Atoms (types mapped through ``type_map``)."""
    import dpdata  # imported here: its plugins reconfigure logging, unwanted at DAG time

    system = dpdata.System(str(dump), fmt="lammps/dump", type_map=type_map)
    return system.to("ase/structure") if len(system) else []
