"""`python -m lpsflow.status CAMPAIGN`: iteration, ratios, jobs done / running / failed."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import SNAKEMAKE

from lpsflow.status import jobs_done, latest_log, loop_state, outputs_by_rule, status_line

#: a stand-in workflow whose jobs finish, fail, and wait (Snakemake's own metadata and log)
JOBS = """
rule all:
    input: "done.txt", "fails.txt", "waits.txt"
rule finish:
    output: "done.txt"
    log: "logs/finish.log"
    shell: "echo ok > {output}"
rule fail:
    output: "fails.txt"
    log: "logs/fail.log"
    shell: "exit 1"
rule wait:
    output: "waits.txt"
    log: "logs/wait.log"
    shell: "while [ ! -e release ]; do sleep 0.2; done; echo ok > {output}"
"""
#: iteration 0's table written by a rule named as the real one (anywhere), iteration 1 waits
LOOP = """
rule loop:
    input: "tables/it_000.csv", "models/it_001.pb"
rule summarize_iteration:
    output: "tables/it_{iter}.csv"
    shell: "cp summary_{wildcards.iter}.csv {output}"
rule train_model:
    input: "tables/it_000.csv"
    output: "models/it_{iter}.pb"
    shell: "while [ ! -e release ]; do sleep 0.2; done; echo ok > {output}"
"""


def fake_iteration_table(root):
    """Iteration 0's table (as lpsflow.loop.iteration_table writes it): 4 candidates."""
    pd.DataFrame(
        {
            "iteration": [0, 0],
            "composition": ["A", "B"],
            "accurate_ratio": [0.13, 0.5],
            "candidate_ratio": [0.85, 0.25],
            "failed_ratio": [0.02, 0.25],
            "n_selected_all": [4, 4],
            "status": ["continue", "continue"],
        }
    ).to_csv(root / "summary_000.csv", index=False)


def test_status_of_a_campaign_in_progress(tmp_path):
    (tmp_path / "Snakefile").write_text(JOBS)
    proc = subprocess.Popen(
        [SNAKEMAKE, "--cores", "3", "-k"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a failed assertion kills its waiting jobs too
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the other two jobs are through
            log = latest_log(tmp_path)
            if log.path and len(log.finished) == 1 and len(log.failed) == 1 and log.open:
                break
            time.sleep(0.3)
        line = status_line(tmp_path)
        assert "no iteration yet" in line
        assert "jobs 1 done, 1 running, 1 failed" in line
        assert "[failed: fail]" in line and line.endswith("snakemake running")
        (tmp_path / "release").touch()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    line = status_line(tmp_path)
    assert "jobs 2 done, 0 running, 1 failed" in line and line.endswith("snakemake not running")
    assert jobs_done(tmp_path) == {"finish": 1, "wait": 1}
    # the command prints the same line
    out = subprocess.run(
        [sys.executable, "-m", "lpsflow.status", str(tmp_path)], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.strip() == line


def test_loop_state_from_the_rules_outputs_and_the_running_jobs(tmp_path):
    """Iteration 0's table found as rule summarize_iteration's output (wherever it lies);
    iteration 1 running from its job's ``iter`` wildcard."""
    (tmp_path / "Snakefile").write_text(LOOP)
    fake_iteration_table(tmp_path)
    proc = subprocess.Popen(
        [SNAKEMAKE, "--cores", "2"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a failed assertion kills its waiting jobs too
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "train_model" in latest_log(tmp_path).open.values():
                break
            time.sleep(0.3)
        assert outputs_by_rule(tmp_path)["summarize_iteration"] == ["tables/it_000.csv"]
        line = status_line(tmp_path)
        assert "iteration 1 running; iteration 0: 4 candidates to label" in line
        assert "accurate/candidate/failed A 0.13/0.85/0.02, B 0.50/0.25/0.25" in line
        (tmp_path / "release").touch()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    # a file of that name that no job wrote is not a table of the loop
    (tmp_path / "tables" / "it_005.csv").write_text((tmp_path / "summary_000.csv").read_text())
    assert loop_state(tmp_path).last_done == 0


def test_killed_run_shows_interrupted_jobs(tmp_path):
    (tmp_path / "Snakefile").write_text(JOBS)
    proc = subprocess.Popen(
        [SNAKEMAKE, "--cores", "3", "-k", "waits.txt"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not latest_log(tmp_path).open:
        time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)  # no clean shutdown: the lock stays
    proc.wait()
    line = status_line(tmp_path)
    assert "0 running" not in line and "1 running" in line  # the lock says it may run
    for lock in (tmp_path / ".snakemake" / "locks").iterdir():  # snakemake --unlock
        lock.unlink()
    assert "jobs 0 done, 0 running, 0 failed, 1 interrupted" in status_line(tmp_path)


@pytest.mark.slow
def test_status_of_the_finished_tiny_campaign(local_campaign):
    state = loop_state(local_campaign)
    last = state.last_done
    assert state.current == last and state.status is not None
    line = status_line(local_campaign)
    why = state.status if state.status != "continue" else "loop.max_iterations reached"
    assert line.split(": ", 1)[1].startswith(f"loop ended at iteration {last} ({why}); accurate/")
    assert ", 0 running, 0 failed" in line and line.endswith("snakemake not running")
    # every iteration's table was written before the next iteration's selection ended
    for i in range(last + 1):
        assert (local_campaign / f"results/iter_{i:03d}/summary.csv").exists()
    for i in range(last):
        table = local_campaign / f"results/iter_{i:03d}/summary.csv"
        later = local_campaign / f"results/iter_{i + 1:03d}/select/verdict.json"
        assert table.stat().st_mtime < later.stat().st_mtime
    rows = pd.concat(
        pd.read_csv(local_campaign / f"results/iter_{i:03d}/summary.csv") for i in range(last + 1)
    )
    total = pd.read_csv(local_campaign / "results/loop/iterations.csv")
    pd.testing.assert_frame_equal(rows.reset_index(drop=True), total, check_dtype=False)
