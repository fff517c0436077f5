"""Reliability with the real codes: DFT failures, an added composition, kill and resume."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, SNAKEMAKE, needs_cp2k, run_workflow, tiny_campaign

from lpsflow.store import LabelStore

pytestmark = [pytest.mark.slow, needs_cp2k()]
FLAKY_CP2K = REPO / "tests" / "bin" / "cp2k-flaky"


def called_keys(calls: Path, start: int = 0) -> list[str]:
    """Store keys of the CP2K runs logged by the test wrappers (from line ``start`` on)."""
    lines = calls.read_text().splitlines() if calls.exists() else []
    return [Path(line).parent.name.split(".")[0] for line in lines[start:]]


def test_dft_failures_recorded_then_composition_added(tmp_path):
    calls = tmp_path / "calls.txt"
    env = {"CP2K_CALL_LOG": str(calls), "CP2K_CRASH_KEYS": "0123"}  # about 1 frame in 4 crashes
    config = tiny_campaign()
    config["dft"]["command"] = str(FLAKY_CP2K)
    config["dft"]["max_failed_fraction"] = 0.75  # crashes are random per frame: 2 of 4 happen
    config["loop"]["max_iterations"] = 1
    config["production"].update(  # the report is checked, not the production runs: shortest
        temperatures=[1000], replicas=1, melt_steps=100, quench_rate=9000, steps=500
    )
    run_workflow(tmp_path, config, env=env)  # completes despite the crashes
    res = tmp_path / "results"
    store = LabelStore(res / "store")
    failures = pd.read_csv(res / "init" / "failures.csv")
    assert len(failures) >= 1, "no frame key started with 0-3: choose other crash keys"
    assert failures["key"].str[0].isin(list("0123")).all()
    for key, reason in zip(failures["key"], failures["reason"], strict=True):
        assert reason.startswith("crash")
        attempts = store.record(key)["attempts"]
        assert len(attempts) == 2 and attempts[1]["robust"]  # retried once, robust settings
    data = pd.read_csv(res / "iter_000" / "dataset.csv")
    assert not set(failures["key"]) & set(data["key"])  # never trained on
    report = (res / "report.html").read_text()
    assert f"{len(failures)} DFT frame(s) failed" in report and failures["key"][0] in report

    # add a composition: nothing labelled before is computed again (failed frames neither)
    before = {p.name for p in (res / "store" / "entries").glob("*/*")}
    n_calls = len(called_keys(calls))
    lps67 = {"name": "LPS67", "x": 0.667, "n_atoms": 13, "replicas": 1}  # Li4P2S7: 1 P2S7
    config["compositions"].append(lps67)
    run_workflow(tmp_path, config, env=env)
    new = called_keys(calls, n_calls)
    assert new and not set(new) & before
    summary = pd.read_csv(res / "init" / "summary.csv").set_index("composition")
    assert summary.loc["LPS67", "frames"] == 4
    assert "LPS67" in set(pd.read_csv(res / "loop" / "iterations.csv")["composition"])
    assert "LPS67" in (res / "report.html").read_text()


def _wait_and_kill(workdir: Path, ready, timeout: float = 900) -> bool:
    """Start the campaign, SIGKILL its whole process group once ``ready()``; True if killed."""
    cmd = [
        SNAKEMAKE,
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(workdir),
        "--cores",
        "2",
        "--rerun-incomplete",
    ]
    env = {**os.environ, "CP2K_CALL_LOG": str(workdir / "calls.txt")}
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            subprocess.run([*cmd, "--unlock"], env=env, capture_output=True)
            return True
        time.sleep(0.2)
    proc.wait()
    return False


def test_kill_at_four_moments_then_resume(tmp_path, local_campaign):
    config = tiny_campaign()
    config["dft"]["threads"] = 2  # one CP2K run at a time: a kill cuts at most one short
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    for template in (REPO / "config").glob("*.json"):
        (tmp_path / "config" / template.name).write_text(template.read_text())
    res = tmp_path / "results"
    moments = {
        "labelling": lambda: len(called_keys(tmp_path / "calls.txt")) >= 3,
        "training": lambda: any(res.glob("iter_000/train/model_*/lcurve.out")),
        "exploration": lambda: any(res.glob("iter_000/explore/*/job_0/log.lammps")),
        "selection": lambda: (
            (tmp_path / "logs/iter_000/select.log").exists()
            and not (res / "iter_000/select/verdict.json").exists()
        ),
    }
    killed = {name: _wait_and_kill(tmp_path, ready) for name, ready in moments.items()}
    assert all(killed.values()), killed
    loop = "results/loop/iterations.csv"  # every kill was in the loop: resume it to its end
    env = {"CP2K_CALL_LOG": str(tmp_path / "calls.txt")}
    run_workflow(tmp_path, config, "--rerun-incomplete", loop, env=env)
    # the same labelled frames as the uninterrupted campaign, none labelled twice
    for table in ("iter_000/dataset.csv", "iter_001/dataset.csv"):
        a = pd.read_csv(res / table).sort_values("key").reset_index(drop=True)
        b = (
            pd.read_csv(local_campaign / "results" / table)
            .sort_values("key")
            .reset_index(drop=True)
        )
        pd.testing.assert_frame_equal(a, b)
    store = LabelStore(res / "store")
    keys = [p.name for p in (res / "store" / "entries").glob("*/*")]
    assert all(store.verify(k) for k in keys)
    runs = called_keys(tmp_path / "calls.txt")
    repeated = {k for k in set(runs) if runs.count(k) > 1}
    assert len(repeated) <= 1  # only a run killed mid-way (labelling moment) is redone
    assert all(len(store.record(k)["attempts"]) == 1 for k in keys)
    proc = run_workflow(tmp_path, config, "-n", loop, env=env)
    assert "Nothing to be done" in proc.stdout + proc.stderr
