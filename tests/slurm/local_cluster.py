#!/usr/bin/env python3
"""A real single-node Slurm on this machine, for the tests and by hand.

    python tests/slurm/local_cluster.py start [--dir DIR]   # idempotent; prints SLURM_CONF
    python tests/slurm/local_cluster.py stop  [--dir DIR]   # stops only what start started

Uses Debian's slurm-wlm, munge and libpmix-dev (installed with apt-get when missing and run as
root; libpmix-dev lets `srun --mpi=pmix` start MPI ranks of Open MPI programs such as CP2K).
No accounting: the Snakemake executor queries job states with squeue (see slurm/config.yaml).
/etc/slurm/slurm.conf becomes a link to this cluster's config while it runs (jobs' inner srun
calls look there); an existing real /etc/slurm/slurm.conf is never touched.
All state, spool, log and pid files live under DIR (default /tmp/lpsflow-slurm).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import time
import zlib
from pathlib import Path

DEFAULT_DIR = Path("/tmp/lpsflow-slurm")
#: where srun looks without SLURM_CONF: the jobstep executor clears SLURM_* variables in jobs
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MARK = "# written by lpsflow tests/slurm/local_cluster.py"
PARTITION = "debug"

CONF = """\
ClusterName=lpsflow
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=1000
MinJobAge=600
ReturnToService=2
MailProg=/bin/true
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
SlurmctldPort={port}
SlurmdPort={port_d}
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem} State=UNKNOWN
PartitionName={partition} Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def _env(d: Path) -> dict:
    return {**os.environ, "SLURM_CONF": str(d / "slurm.conf")}


def _up(d: Path) -> bool:
    if not (d / "slurm.conf").exists() or shutil.which("scontrol") is None:
        return False
    out = subprocess.run(["scontrol", "ping"], env=_env(d), capture_output=True, text=True)
    return "is UP" in out.stdout


def _node_state(d: Path) -> str:
    out = subprocess.run(["sinfo", "-h", "-o", "%T"], env=_env(d), capture_output=True, text=True)
    return out.stdout.strip()


#: the unversioned PMIx library Debian's Slurm PMIx plugin (mpi/pmix_v4) opens; only the
#: libpmix-dev package ships it. Without it `srun --mpi=pmix` fails ("can not load PMIx
#: library") and Open MPI programs (Debian's cp2k.psmp) cannot be started by srun at all:
#: --mpi=none/pmi2 end in "OMPI was not built with SLURM's PMI support".
PMIX_LIBRARY = Path("/usr/lib/x86_64-linux-gnu/pmix2/lib/libpmix.so")


def install() -> None:
    """apt-get install slurm-wlm, munge and libpmix-dev when missing (root only)."""
    if shutil.which("slurmctld") and shutil.which("munged"):
        if PMIX_LIBRARY.exists() or os.geteuid() != 0:  # MPI tests skip without it
            return
    if os.geteuid() != 0:
        raise SystemExit(
            "Slurm is not installed and this is not root: apt-get install slurm-wlm munge"
        )
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "slurm-wlm", "munge", "libpmix-dev"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


def _start_munge(d: Path) -> None:
    key = Path("/etc/munge/munge.key")
    if not key.exists():
        key.write_bytes(os.urandom(1024))
        shutil.chown(key, "munge", "munge")
        key.chmod(0o400)
    if subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode == 0:
        return
    for sub in ("/run/munge", "/var/log/munge", "/var/lib/munge"):
        Path(sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(sub, "munge", "munge")
    subprocess.run(["runuser", "-u", "munge", "--", "munged"], check=True)
    pid = subprocess.run(["pgrep", "-x", "munged"], capture_output=True, text=True).stdout.split()[
        0
    ]
    (d / "munged.pid.ours").write_text(pid)


def _install_system_conf(d: Path) -> None:
    """Make /etc/slurm/slurm.conf this cluster's (never overwriting a real installation's)."""
    if SYSTEM_CONF.is_symlink() or (SYSTEM_CONF.exists() and MARK in SYSTEM_CONF.read_text()):
        SYSTEM_CONF.unlink()
    if SYSTEM_CONF.exists():
        raise RuntimeError(f"{SYSTEM_CONF} belongs to another Slurm; not touching it")
    SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
    SYSTEM_CONF.symlink_to(d / "slurm.conf")


def start(d: Path = DEFAULT_DIR, timeout: float = 30.0) -> Path:
    """Start munged (if needed), slurmctld and slurmd; return the slurm.conf path."""
    if _up(d):
        if _node_state(d) in ("idle", "mixed", "allocated"):
            return d / "slurm.conf"
        stop(d)  # daemons of an interrupted run whose node never came back
    install()
    # A test cluster never inherits the jobs of an interrupted run: recovered "running" jobs
    # hold the node allocated until they time out (CI saw exactly this and never got an idle
    # node), so the saved state is wiped and slurmctld starts clean (-c).
    shutil.rmtree(d / "state", ignore_errors=True)
    for sub in ("state", "spool"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    _start_munge(d)
    mem = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20) - 2048
    host = socket.gethostname().split(".")[0]
    port = 6900 + 2 * (zlib.crc32(str(d).encode()) % 40)  # one cluster per folder, no clash
    conf = CONF.format(
        host=host,
        d=d,
        cpus=os.cpu_count(),
        mem=mem,
        partition=PARTITION,
        port=port,
        port_d=port + 1,
    )
    (d / "slurm.conf").write_text(f"{MARK}\n{conf}")
    _install_system_conf(d)
    env = _env(d)
    subprocess.run(["slurmctld", "-c", "-f", str(d / "slurm.conf")], env=env, check=True)
    subprocess.run(["slurmd", "-f", str(d / "slurm.conf")], env=env, check=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if _up(d) and _node_state(d) == "idle":
            return d / "slurm.conf"
        time.sleep(0.5)
    state = _node_state(d) if _up(d) else "controller down"
    raise RuntimeError(
        f"local Slurm did not come up (node: {state!r}); see {d}/slurmctld.log and slurmd.log"
    )


def stop(d: Path = DEFAULT_DIR) -> None:
    """Cancel jobs, then stop the daemons started by :func:`start`, by their pid files."""
    if (d / "slurm.conf").exists() and shutil.which("scancel"):
        subprocess.run(["scancel", "--user", "root"], env=_env(d), capture_output=True)
    for name in ("slurmd.pid", "slurmctld.pid", "munged.pid.ours"):
        path = d / name
        try:
            os.kill(int(path.read_text().split()[0]), signal.SIGTERM)
        except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            pass
        path.unlink(missing_ok=True)
    if SYSTEM_CONF.is_symlink() and SYSTEM_CONF.resolve() == (d / "slurm.conf").resolve():
        SYSTEM_CONF.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    if args.action == "start":
        print(f"export SLURM_CONF={start(args.dir)}")
    else:
        stop(args.dir)


if __name__ == "__main__":
    main()
