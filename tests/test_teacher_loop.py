"""Closed loop: a tiny campaign labelled by the teacher must converge and recover its D."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from conftest import run_workflow, shipped

pytest.importorskip("chgnet", reason="teacher extra missing: pip install '.[teacher]'")


def teacher_campaign() -> dict:
    """One 16-atom composition labelled by CHGNet, 2 tiny models, one temperature."""
    config = shipped("demo.yaml")
    assert config["dft"]["engine"] == "mlip"
    config["compositions"] = [{"name": "LPS75", "x": 0.75, "n_atoms": 16, "replicas": 1}]
    config["init"] = {"n_perturb": 12}
    config["train"].update(n_models=2, steps=1500, init_steps=800, test_fraction=0.25)
    config["explore"].update(schedule=[{"ensemble": "nvt", "temperature": 1000}], steps=[500])
    config["select"].update(max_per_composition=20)
    config["loop"] = {"max_iterations": 3, "accurate_ratio": 0.9}
    config["production"] = {
        "n_atoms": 32,
        "melt_steps": 300,
        "quench_steps": 300,
        "temperatures": [1000],
        "equilibration_steps": 200,
        "steps": 3000,
        "dump_every": 10,
        "devi_every": 100,
    }
    config["teacher_md"] = {"equilibration_steps": 200, "steps": 1500}
    return config


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("LPSFLOW_TEACHER_LOOP") != "1",
    reason="opt-in (LPSFLOW_TEACHER_LOOP=1): not yet seen to converge within the 6 min budget",
)
def test_teacher_campaign_converges_and_dp_matches_teacher(tmp_path):
    run_workflow(tmp_path, teacher_campaign())
    res = tmp_path / "results"
    loop = pd.read_csv(res / "loop" / "iterations.csv")
    last = loop[loop["iteration"] == loop["iteration"].max()]
    assert (last["status"] == "converged").all(), loop.to_string()
    assert (last["accurate_ratio"] >= 0.9).all(), loop.to_string()
    table = pd.read_csv(res / "teacher" / "comparison.csv")
    row = table[table["temperature_K"] == 1000].iloc[0]
    assert row["D_cm2_s_teacher"] > 0 and row["D_cm2_s_dp"] > 0
    assert bool(row["D_agrees"]), table.to_string()
    speed = pd.read_csv(res / "teacher" / "speed.csv").set_index("engine")
    assert speed.loc["teacher", "atom_steps_per_s"] > 0
    assert speed.loc["deepmd", "atom_steps_per_s"] > 0
    html = (res / "report.html").read_text()
    assert "Teacher vs DP" in html and "chgnet-0.3.0" in html
