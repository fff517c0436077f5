"""`snakemake --profile slurm` against a real single-node Slurm started by the test."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, SNAKEMAKE, tiny_campaign

pytestmark = pytest.mark.slow
SLURM_DIR = Path("/tmp/lpsflow-slurm-tests")


@pytest.fixture(scope="module")
def slurm_conf():
    if os.geteuid() != 0 and shutil.which("slurmctld") is None:
        pytest.skip("Slurm is not installed and cannot be (not root)")
    import sys

    sys.path.insert(0, str(REPO / "tests" / "slurm"))
    import local_cluster

    conf = local_cluster.start(SLURM_DIR)
    yield conf
    local_cluster.stop(SLURM_DIR)


def local_profile(workdir: Path) -> None:
    """The shipped profile with only what this one-node cluster needs changed."""
    profile = yaml.safe_load((REPO / "slurm" / "config.yaml").read_text())
    profile.pop("configfile")  # the site file's srun: the test's config sets its own CP2K command
    profile["default-resources"].update(slurm_partition="debug", slurm_account="root")
    profile["default-resources"]["mem_mb_per_cpu"] = 1000
    for rule in profile["set-resources"].values():
        rule.update(tasks=1, cpus_per_task=1) if "tasks" in rule else rule.update(cpus_per_task=1)
        rule["mem_mb_per_cpu"] = 1000
    profile["set-threads"] = {rule: 1 for rule in profile["set-threads"]}
    profile["slurm-status-command"] = "squeue"  # no accounting here
    profile["slurm-init-seconds-before-status-checks"] = 2
    profile["latency-wait"] = 5
    (workdir / "slurm").mkdir()
    (workdir / "slurm" / "config.yaml").write_text(yaml.safe_dump(profile))


def test_profile_runs_campaign_through_sbatch(tmp_path, slurm_conf, local_campaign):
    local_profile(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(tiny_campaign()))
    for template in (REPO / "config").glob("*.json"):
        shutil.copy2(template, tmp_path / "config")
    env = {
        **os.environ,
        "SLURM_CONF": str(slurm_conf),
        "CP2K_CALL_LOG": str(tmp_path / "calls.txt"),
    }
    proc = subprocess.run(
        # the loop and the exported model (production rules run on the local executor in
        # local_campaign; through Slurm they would only add minutes of polling)
        [
            SNAKEMAKE,
            "--profile",
            "slurm",
            "-s",
            str(REPO / "Snakefile"),
            "results/loop/iterations.csv",
            "results/model/manifest.json",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    submitted = re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", out)
    rules = set(re.findall(r"rule (\w+):", out)) | set(re.findall(r"checkpoint (\w+):", out))
    local = {"all", "summarize_labels", "collect_candidate_labels", "summarize_iterations"}
    assert submitted, out[-3000:]
    local.add("summarize_iteration")  # the per-iteration progress table (localrules)
    for rule in rules - local:  # every remote rule left a Slurm log under logs/slurm
        assert list((tmp_path / "logs" / "slurm" / f"rule_{rule}").rglob("*.log")), rule
    assert len(list((tmp_path / "logs" / "slurm").rglob("*.log"))) == len(submitted)
    # one DFT job per frame: 8 initial frames
    assert len(list((tmp_path / "logs" / "slurm" / "rule_label_frame").rglob("*.log"))) == 8
    # the same campaign as on the local executor
    res, ref = tmp_path / "results", local_campaign / "results"
    for table in ("init/summary.csv", "iter_000/dataset.csv", "iter_001/dataset.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(res / table), pd.read_csv(ref / table))
    a, b = pd.read_csv(res / "loop/iterations.csv"), pd.read_csv(ref / "loop/iterations.csv")
    assert a["n_train"].tolist() == b["n_train"].tolist()
    num = a.select_dtypes("number").columns
    assert np.allclose(a[num], b[num], rtol=1e-6, equal_nan=True)


def test_cluster_restarts_clean_after_interrupted_run(slurm_conf):
    """Daemons killed with a job running (an interrupted session) must not block the next
    start: the recovered job would hold the node allocated and CI never saw an idle node."""
    import signal

    import local_cluster

    env = {**os.environ, "SLURM_CONF": str(slurm_conf)}
    job = subprocess.run(
        [
            "sbatch",
            "--parsable",
            "-p",
            "debug",
            "--mem-per-cpu=100",
            "-o",
            "/dev/null",
            "--wrap",
            "sleep 600",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for _ in range(60):
        if (
            "RUNNING"
            in subprocess.run(
                ["squeue", "-h", "-j", job, "-o", "%T"], env=env, capture_output=True, text=True
            ).stdout
        ):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"job {job} never started")
    for name in ("slurmd.pid", "slurmctld.pid"):  # SIGKILL: no clean shutdown, state kept
        os.kill(int((SLURM_DIR / name).read_text().split()[0]), signal.SIGKILL)
    time.sleep(1)
    assert local_cluster.start(SLURM_DIR) == slurm_conf
    queue = subprocess.run(["squeue", "-h"], env=env, capture_output=True, text=True).stdout
    assert queue.strip() == ""
    assert local_cluster._node_state(SLURM_DIR) == "idle"
