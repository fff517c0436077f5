"""Environment of external MPI programs (CP2K, LAMMPS) started by workflow jobs."""

from __future__ import annotations

from pathlib import Path

LAUNCHERS = {"srun", "mpirun", "mpiexec", "mpiexec.hydra", "aprun", "ibrun", "jsrun"}
#: variables by which an MPI library concludes it was started by a launcher
LAUNCH_PREFIXES = ("SLURM_", "PMI_", "PMIX_", "OMPI_", "HYDRA_")


def program_env(argv: list[str], env: dict) -> dict:
    """``env`` for running ``argv``: without a launcher, an MPI program must start as a
    singleton, so the job step's Slurm/PMI variables are removed (inside a Slurm job they
    make Open MPI try PMI and abort). With a launcher (``srun cp2k.psmp``) nothing changes.
    """
    if argv and Path(argv[0]).name in LAUNCHERS:
        return dict(env)
    return {k: v for k, v in env.items() if not k.startswith(LAUNCH_PREFIXES)}
