"""Initial data through the workflow: a shipped crystal, AIMD + perturbed frames, imports."""

from __future__ import annotations

import dpdata
import numpy as np
import pandas as pd
import pytest
from ase.io import read
from conftest import COUNTING_CP2K, needs_cp2k, run_workflow, shipped, tiny_campaign

from lpsflow.crystals import path as crystal_path
from lpsflow.store import LabelStore

CHEAP = {
    "functional": "PBE",
    "dispersion": "none",
    "basis": "SZV-MOLOPT-SR-GTH",
    "potential": "GTH-PBE",
    "cutoff": 250,
    "rel_cutoff": 40,
}


def campaign(import_dir) -> dict:
    """Li2S crystal (12 atoms) and a 16-atom Li3PS4 glass cell; initial data from a 1-step
    AIMD of each cell (frames 0 and 1) plus imported frames; one loop iteration with 2 tiny
    models."""
    config = tiny_campaign()
    config["compositions"] = [
        {"name": "Li2S", "structure": str(crystal_path("Li2S")), "n_atoms": 12, "replicas": 1},
        {"name": "LPS75", "x": 0.75, "n_atoms": 16, "replicas": 1},
    ]
    config["init"] = {
        "method": "aimd",
        "aimd": {"steps": 1, "every": 1, "temperature": 600, "seed": 1},
        "import": [
            {
                "name": "li3ps4_aimd",
                "format": "cp2k/aimd_output",
                "path": str(import_dir),
                "composition": "LPS75",
                "theory": CHEAP,
            }
        ],
    }
    config["train"].update(steps=50, init_steps=50)
    config["explore"].update(steps=[50])
    config["loop"] = {"max_iterations": 1, "accurate_ratio": 0.99}
    return config


@pytest.mark.slow
@needs_cp2k()
def test_crystal_aimd_and_imports_reach_training(aimd_run, tmp_path):
    atoms, fixture_store, frames, run, _ = aimd_run
    folder = fixture_store.root / "aimd" / run["key"][:2] / run["key"]
    calls = tmp_path / "calls.txt"
    config = campaign(folder)
    config["dft"]["command"] = str(COUNTING_CP2K)
    targets = ["results/init/summary.csv", "results/iter_000/select/verdict.json"]
    run_workflow(tmp_path, config, *targets, env={"CP2K_CALL_LOG": str(calls)})
    res = tmp_path / "results"
    # one CP2K run per AIMD run, no single points (init.method: aimd)
    assert len(calls.read_text().splitlines()) == 2
    assert not list(res.glob("init/*/frames.extxyz"))
    labels = {c: pd.read_csv(res / "init" / c / "labels.csv") for c in ("Li2S", "LPS75")}
    for table in labels.values():
        assert (table["source"] == "aimd").all() and sorted(table["frame"]) == [0, 1]
        assert (table["status"] == "ok").all()
    store = LabelStore(res / "store")
    li2s = dpdata.LabeledSystem(
        str(
            store.label_path(labels["Li2S"].loc[labels["Li2S"]["source"] == "aimd", "key"].iloc[0])
        ),
        fmt="deepmd/npy",
    )
    assert li2s.get_natoms() == 12 and "virials" in li2s.data
    imported = pd.read_csv(res / "init" / "import" / "li3ps4_aimd" / "labels.csv")
    assert len(imported) == 3 and (imported["composition"] == "LPS75").all()
    # imported and computed frames share the dataset, split and filters
    data = pd.read_csv(res / "iter_000" / "dataset.csv")
    assert set(imported["key"]) <= set(data["key"])
    assert set(labels["Li2S"].loc[labels["Li2S"]["status"] == "ok", "key"]) <= set(data["key"])
    theory = pd.read_csv(res / "init" / "theory.csv")
    assert theory["theory"].nunique() == 1  # the import declares the campaign's own level
    assert set(theory["source"]) == {"aimd", "import:li3ps4_aimd"}
    summary = pd.read_csv(res / "init" / "summary.csv").set_index("composition")
    assert summary.loc["LPS75", "labelled"] == 5 and summary.loc["Li2S", "labelled"] == 2
    assert (res / "iter_000" / "select" / "verdict.json").exists()
    # the first exploration started from the AIMD run's last frame, not the sampled cell
    start = read(res / "init" / "LPS75" / "aimd" / "replica_0.extxyz")
    assert start.info["aimd_step"] == labels["LPS75"]["frame"].max()
    conf = read(res / "iter_000" / "explore" / "LPS75" / "job_0" / "conf.lmp", format="lammps-data")
    assert np.allclose(conf.positions, start.positions, atol=1e-5)
    # a second run has nothing to do and computes nothing
    proc = run_workflow(tmp_path, config, *targets, "-n", env={"CP2K_CALL_LOG": str(calls)})
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_import_error_stops_workflow_before_any_job(tmp_path):
    config = shipped("config.yaml")
    config["init"] = {
        "import": [
            {
                "name": "my_aimd",
                "format": "cp2k/aimd_output",
                "path": "no/such/folder",
                "composition": "LPS75",
                "theory": CHEAP,
            }
        ]
    }
    proc = run_workflow(tmp_path, config, check=False)
    assert proc.returncode != 0
    assert "init.import[0] (my_aimd).path: no/such/folder does not exist" in proc.stderr
    assert not (tmp_path / "results" / "sample").exists()


def test_both_methods_plan_perturbed_and_aimd_jobs(tmp_path):
    """init.method: both labels the perturbed frames and runs one AIMD per starting cell."""
    config = shipped("config.yaml")  # 2 compositions x 2 replicas
    counts = {}
    for method in ("perturb", "aimd", "both"):
        config["init"] = {"method": method, "n_perturb": 5}
        proc = run_workflow(tmp_path, config, "-n", "--quiet", "rules")
        rows = [ln.split() for ln in proc.stdout.splitlines()]
        counts[method] = {
            r[0]: r[1]
            for r in rows
            if len(r) == 2 and r[1].isdigit() and r[0].startswith(("aimd", "label", "pert"))
        }
    assert "aimd_init" not in counts["perturb"] and counts["perturb"]["label_frame"] == "20"
    assert counts["aimd"] == {"aimd_init": "4"}
    assert counts["both"] == {"aimd_init": "4", "label_frame": "20", "perturb_structures": "2"}
