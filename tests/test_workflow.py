"""The Snakemake workflow: DAG building, config errors, and a real run with CP2K."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import COUNTING_CP2K, REPO, needs_cp2k

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run_workflow(workdir: Path, config: dict, *args: str, check: bool = True, env=None):
    """Run the repository's workflow in ``workdir`` with ``config`` as config/config.yaml."""
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def shipped(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


def test_dry_run_shipped_config(tmp_path):
    proc = run_workflow(tmp_path, shipped("config.yaml"), "-n")
    assert "label_batch" in proc.stdout and "sample_structure" in proc.stdout


def test_dry_run_three_compositions(tmp_path):
    config = shipped("config.yaml")
    config["compositions"].append(
        {
            "name": "LPSI",
            "x": 0.75,
            "n_atoms": 60,
            "halide": "I",
            "halide_fraction": 0.2,
            "replicas": 3,
        }
    )
    proc = run_workflow(tmp_path, config, "-n", "--quiet", "rules")
    counts = dict(
        ln.split()[:2]
        for ln in proc.stdout.splitlines()
        if ln.strip().startswith(("sample", "label"))
    )
    assert counts["sample_structure"] == "7"  # 2 + 2 + 3 replicas


def test_config_error_rejected_before_any_job(tmp_path):
    config = shipped("config.yaml")
    config["compositions"][0]["x"] = 1.4
    proc = run_workflow(tmp_path, config, check=False)
    assert proc.returncode != 0
    assert "1.4 is greater than the maximum of 0.9" in proc.stderr and "'x'" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_cross_key_error_names_key(tmp_path):
    config = shipped("config.yaml")
    config["compositions"][1]["name"] = config["compositions"][0]["name"]
    proc = run_workflow(tmp_path, config, check=False)
    assert proc.returncode != 0 and "compositions: duplicate name(s) ['LPS75']" in proc.stderr


@pytest.mark.slow
@needs_cp2k()
def test_demo_labels_two_compositions_and_never_twice(tmp_path):
    """Real CP2K through the workflow; a forced rerun of labelling runs CP2K zero times."""
    config = shipped("demo.yaml")
    config["compositions"][1] = {"name": "LPS80", "x": 0.8, "n_atoms": 19, "replicas": 1}
    config["init"] = {"n_perturb": 2}
    config["dft"].update(command=str(COUNTING_CP2K), frames_per_job=1)
    calls = tmp_path / "calls.txt"
    env = {"CP2K_CALL_LOG": str(calls)}
    run_workflow(tmp_path, config, env=env)
    summary = pd.read_csv(tmp_path / "results/init/summary.csv").set_index("composition")
    assert summary.loc["LPS75", "labelled"] == 2 and summary.loc["LPS80", "labelled"] == 2
    assert len(calls.read_text().splitlines()) == 4
    for comp, n_atoms in (("LPS75", 16), ("LPS80", 19)):
        data = list((tmp_path / f"results/init/{comp}/data").glob("Li*"))
        assert len(data) == 1
        assert (data[0] / "type_map.raw").read_text().split() == ["Li", "P", "S"]
        assert len((data[0] / "type.raw").read_text().split()) == n_atoms
        assert (data[0] / "set.000" / "virial.npy").exists()
    # upstream and labelling jobs rerun: every label comes from the store
    run_workflow(tmp_path, config, "--forcerun", "perturb_structures", env=env)
    assert len(calls.read_text().splitlines()) == 4
    labels = pd.read_csv(tmp_path / "results/init/LPS75/labels.csv")
    assert labels["reused"].all() and labels["engine_runs"].sum() == 0
    # nothing left to do
    proc = run_workflow(tmp_path, config, "-n", env=env)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    shutil.rmtree(tmp_path / "results" / "store" / "tmp", ignore_errors=True)
