from lpsflow.launch import program_env

ENV = {
    "PATH": "/bin",
    "SLURM_JOB_ID": "7",
    "SLURM_STEP_ID": "0",
    "PMI_RANK": "0",
    "OMP_NUM_THREADS": "2",
}


def test_singleton_runs_lose_launcher_variables():
    env = program_env(["cp2k.psmp", "-i", "x"], ENV)
    assert env == {"PATH": "/bin", "OMP_NUM_THREADS": "2"}


def test_launched_runs_keep_them():
    assert program_env(["/usr/bin/srun", "cp2k.psmp"], ENV) == ENV
    assert program_env(["mpirun", "-np", "4", "cp2k.psmp"], ENV) == ENV
