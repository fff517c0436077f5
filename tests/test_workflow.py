"""The Snakemake workflow: DAG building, config errors, and a real run with CP2K."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import COUNTING_CP2K, needs_cp2k, run_workflow, shipped, tiny_campaign


def test_dry_run_shipped_config(tmp_path):
    proc = run_workflow(tmp_path, shipped("config.yaml"), "-n")
    assert "label_frame" in proc.stdout and "sample_structure" in proc.stdout


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
    config = shipped("demo-cp2k.yaml")
    config["compositions"][1] = {"name": "LPS80", "x": 0.8, "n_atoms": 19, "replicas": 1}
    config["init"] = {"n_perturb": 2}
    config["dft"].update(command=str(COUNTING_CP2K))
    calls = tmp_path / "calls.txt"
    env = {"CP2K_CALL_LOG": str(calls)}
    run_workflow(tmp_path, config, "results/init/summary.csv", env=env)
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
    run_workflow(
        tmp_path, config, "results/init/summary.csv", "--forcerun", "perturb_structures", env=env
    )
    assert len(calls.read_text().splitlines()) == 4
    labels = pd.read_csv(tmp_path / "results/init/LPS75/labels.csv")
    assert labels["reused"].all() and labels["engine_runs"].sum() == 0
    # nothing left to do
    proc = run_workflow(tmp_path, config, "results/init/summary.csv", "-n", env=env)
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_tiny_campaign_two_iterations(local_campaign):
    """Real CP2K, DeePMD-kit and LAMMPS: two loop iterations and the exported model."""
    res = local_campaign / "results"
    table = pd.read_csv(res / "loop" / "iterations.csv")
    assert sorted(table["iteration"].unique()) == [0, 1]
    sizes = table.assign(n=table["n_train"] + table["n_test"]).groupby("iteration")["n"].sum()
    assert sizes[1] > sizes[0]  # iteration 1 trains on the labelled candidates of iteration 0
    assert np.isfinite(table["train_rmse_f"]).all() and np.isfinite(table["accurate_ratio"]).all()
    assert np.isfinite(table["test_rmse_f"]).any()
    rmse = pd.read_csv(res / "iter_001" / "train" / "rmse.csv")
    assert set(rmse["model"]) == {0, 1}
    assert np.isfinite(rmse.loc[rmse["split"] == "train", "rmse_e"]).all()
    # iteration 0 candidates were labelled by CP2K and joined iteration 1's data
    cands = pd.read_csv(res / "iter_000" / "label" / "labels.csv")
    data1 = pd.read_csv(res / "iter_001" / "dataset.csv")
    assert set(cands.loc[cands["status"] == "ok", "key"]) <= set(data1["key"])
    calls = (local_campaign / "calls.txt").read_text().splitlines()
    assert len(calls) == 8 + cands["engine_runs"].sum()
    model = res / "model"
    for name in ("graph_0.pb", "graph_1.pb", "graph_0_compressed.pb", "input_0.json"):
        assert (model / name).stat().st_size > 0
    assert list((model / "data" / "train").glob("*/set.000/virial.npy"))
    assert not list(res.glob("iter_*/explore/*/*/traj.dump"))  # trajectories are temporary
    assert not list(res.glob("iter_*/train/*/model.ckpt*"))
    env = {"CP2K_CALL_LOG": str(local_campaign / "calls.txt")}
    proc = run_workflow(local_campaign, tiny_campaign(), "-n", env=env)
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_parsing_creates_no_folders(tmp_path):
    """A dry run and the linter parse the Snakefile; neither leaves results/ behind."""
    run_workflow(tmp_path, shipped("config.yaml"), "-n")
    run_workflow(tmp_path, None, "--lint")
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()
