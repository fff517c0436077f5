"""`snakemake --profile slurm` against a real single-node Slurm started by the test."""

from __future__ import annotations

import json
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


# ---- submission arguments: GPUs on exactly the rules that may use them, MPI ranks ----
SBATCH_WRAPPER = """#!{python}
# sbatch that records its arguments ({log}), then submits without a GPU request: the
# local node has no GPU, and the test only needs the arguments Snakemake's plugin chose
import os, shlex, sys
with open({log!r}, "a") as fh:
    fh.write(shlex.join(sys.argv[1:]) + "\\n")
args = [a for a in sys.argv[1:] if not a.startswith("--gpus")]
os.execv({real!r}, [{real!r}, *args])
"""


def sbatch_wrapper(workdir: Path) -> tuple[Path, Path]:
    """A PATH-shadowing sbatch in ``workdir/bin`` that logs its arguments to the returned
    file; returns (bin folder, log)."""
    import sys

    bin_dir, log = workdir / "bin", workdir / "sbatch_args.txt"
    bin_dir.mkdir()
    wrapper = bin_dir / "sbatch"
    real = shutil.which("sbatch")
    wrapper.write_text(SBATCH_WRAPPER.format(python=sys.executable, log=str(log), real=real))
    wrapper.chmod(0o755)
    return bin_dir, log


def sbatch_calls(log: Path) -> dict[str, list[str]]:
    """Arguments of every logged sbatch call, by rule (from the plugin's --comment)."""
    calls: dict[str, list[str]] = {}
    for line in log.read_text().splitlines():
        m = re.search(
            r"--comment ['\"]?rule_([a-z_]+?)(?:_wildcards_[^'\" ]*)?['\"]?(?:\s|$)", line
        )
        assert m, line
        calls.setdefault(m.group(1), []).append(line)
    return calls


def campaign_config(workdir: Path, config: dict) -> None:
    (workdir / "config").mkdir()
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    for template in (REPO / "config").glob("*.json"):
        shutil.copy2(template, workdir / "config")


def placeholder_inputs(workdir: Path, finished_iteration: bool) -> list[str]:
    """Empty (or minimal) input files, in dependency order, so that jobs can be submitted
    without their upstream: one label_frame, train_model and explore_md job of iteration 0,
    or (``finished_iteration``: iteration 0 done and converged, the model exported) one
    run_production job. Returns the targets of those jobs."""
    import time

    it0 = "results/iter_000"
    files = [
        "results/sample/LPS75/replica_0.extxyz",
        "results/sample/LPS80/replica_0.extxyz",
        "results/init/LPS75/frames.extxyz",
        f"{it0}/data",
        f"{it0}/train/sel.json",
        f"{it0}/train/model_0/graph.pb",
        f"{it0}/train/model_1/graph.pb",
    ]
    targets = [
        "results/init/LPS75/labels/frame_9.csv",  # a frame no collecting job reads
        f"{it0}/train/model_2/graph.pb",  # a member the exploration does not read
        f"{it0}/explore/LPS75/job_0/model_devi.out",
    ]
    if finished_iteration:
        files += [
            *[
                f"{it0}/explore/{comp}/job_0/{name}"
                for comp in ("LPS75", "LPS80")
                for name in ("model_devi.out", "traj.dump", "status.json", "final.extxyz")
            ],
            *[f"{it0}/select/{n}" for n in ("candidates.extxyz", "frames.csv", "ratios.csv")],
            f"{it0}/select/verdict.json",
            "results/model/manifest.json",
            "results/production/LPS75/replica_0/glass.extxyz",
        ]
        targets = ["results/production/LPS75/replica_0/T800/li.dcd"]
    start = time.time() - 3600
    for template in (workdir / "config").glob("*.json"):  # older than what they made
        os.utime(template, (start - 60, start - 60))
    for k, name in enumerate(files):
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/data"):
            path.mkdir(exist_ok=True)
        elif name.endswith("verdict.json"):
            path.write_text(json.dumps({"status": "converged", "n_selected": 0}))
        else:
            path.write_text("")
        os.utime(path, (start + k, start + k))
    return targets


def submit_placeholder_jobs(workdir: Path, slurm_conf: Path, finished: bool) -> dict:
    """Run the placeholder jobs through the local Slurm with resources.gpus: 1 in the
    config; the sbatch arguments by rule (the jobs themselves fail: empty inputs)."""
    config = tiny_campaign()
    config["resources"] = {"gpus": 1}
    config["loop"]["max_iterations"] = 1
    local_profile(workdir)
    campaign_config(workdir, config)
    targets = placeholder_inputs(workdir, finished)
    bin_dir, log = sbatch_wrapper(workdir)
    env = {
        **os.environ,
        "SLURM_CONF": str(slurm_conf),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    rules = ["label_frame", "train_model", "explore_md", "run_production"]
    proc = subprocess.run(
        [SNAKEMAKE, "--profile", "slurm", "-s", str(REPO / "Snakefile"), *targets]
        + ["--rerun-triggers", "mtime", "--allowed-rules", *rules],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = proc.stdout + proc.stderr
    assert log.exists(), out[-4000:]
    return sbatch_calls(log)


def test_gpu_request_reaches_sbatch_on_exactly_train_explore_production(tmp_path, slurm_conf):
    """resources.gpus: 1 in the config: the plugin's sbatch calls carry --gpus=1 for
    train_model, explore_md and run_production, and none for labelling. The jobs stand on
    placeholder inputs (this node has no GPU; the sbatch wrapper drops the request and the
    jobs fail): only what was submitted is checked."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    calls = submit_placeholder_jobs(tmp_path / "a", slurm_conf, finished=False)
    assert set(calls) == {"label_frame", "train_model", "explore_md"}, calls
    production = submit_placeholder_jobs(tmp_path / "b", slurm_conf, finished=True)
    assert set(production) == {"run_production"}, production
    calls.update(production)
    for rule in ("train_model", "explore_md", "run_production"):
        assert all(" --gpus=1" in c for c in calls[rule]), calls[rule]
    assert not any("--gpus" in c or "--gres" in c for c in calls["label_frame"])


def test_cp2k_label_runs_two_mpi_ranks_through_srun(tmp_path, slurm_conf):
    """dft.mpi_ranks: 2: label_frame declares the plugin's mpi and tasks, sbatch asks for 2
    tasks, the job step does not wrap the job in `srun -n1`, and the CP2K command's own srun
    starts 2 ranks: CP2K's output says so."""
    import local_cluster

    if not local_cluster.PMIX_LIBRARY.exists():
        pytest.skip("libpmix-dev missing: srun cannot start Open MPI ranks here")
    local_profile(tmp_path)
    config = tiny_campaign()
    config["dft"].update(command="srun --mpi=pmix -n {ranks} cp2k.psmp", mpi_ranks=2, threads=1)
    config["dft"]["store"] = str(tmp_path / "store")
    campaign_config(tmp_path, config)
    bin_dir, log = sbatch_wrapper(tmp_path)
    env = {
        **os.environ,
        "SLURM_CONF": str(slurm_conf),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(
        [
            SNAKEMAKE,
            "--profile",
            "slurm",
            "-s",
            str(REPO / "Snakefile"),
            "results/init/LPS75/labels/frame_0.csv",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    label_calls = sbatch_calls(log)["label_frame"]
    assert len(label_calls) == 1 and " --ntasks=2" in label_calls[0], label_calls
    outputs = [
        p for p in (tmp_path / "store").rglob("*.out") if "GLOBAL|" in p.read_text(errors="replace")
    ]
    assert outputs, sorted(str(p) for p in (tmp_path / "store").rglob("*"))
    ranks = re.findall(
        r"GLOBAL\| Total number of message passing processes\s+(\d+)", outputs[0].read_text()
    )
    assert ranks == ["2"], ranks
