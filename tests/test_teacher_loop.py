"""Closed loop: a tiny campaign labelled by the teacher must converge and recover its D."""

from __future__ import annotations

import copy
import os

import pandas as pd
import pytest
from conftest import run_workflow, shipped

pytest.importorskip("chgnet", reason="teacher extra missing: pip install '.[teacher]'")


def teacher_campaign() -> dict:
    """The README's teacher demo (config/demo.yaml) as shipped: one 32-atom composition,
    4 small models, explorations at 700 and 900 K, 10 ps DP runs and 4 ps teacher runs at
    2 fs steps."""
    config = shipped("demo.yaml")
    assert config["dft"]["engine"] == "mlip"
    return config


def reduced_campaign() -> dict:
    """The demo cut to minutes: 16-atom cells, 4 models of 3000 training steps, at most 4
    iterations, one DP glass and one temperature (1000 K), where 4 ps of the teacher's own MD
    are diffusive."""
    config = copy.deepcopy(teacher_campaign())
    config["compositions"] = [
        {"name": "LPS75", "x": 0.75, "n_atoms": 16, "density": 1.9, "replicas": 1}
    ]
    config["init"].update(n_perturb=5, aimd={"steps": 600, "every": 10, "temperature": 900})
    config["train"].update(steps=3000, init_steps=1500)
    config["explore"].update(steps=[1000, 2000])
    # a 16-atom cell's per-atom virial deviation is about sqrt(32/16) times the demo's
    # 32-atom one at the same accuracy (errors of local terms add up as sqrt(N)): measured,
    # the last candidates at 0.02 were all virial-only at 0.020-0.031 eV/atom
    config["select"].update(max_per_composition=50, trust_lo_v=0.03)
    config["loop"].update(max_iterations=4)
    # CHGNet alone, not the demo's CHGNet + D3(zero): with D3 this 16-atom campaign did not
    # converge in 4 iterations (measured 2026-12-07: accurate 0.44, 0.13, 0.03, 0.24; the
    # candidates were virial-only, force deviation 0.17 < trust_lo 0.3), while the 32-atom
    # demo with D3 converged at iteration 3 (bench/records/demo_campaign.json)
    config["dft"]["teacher_dispersion"] = {"damping": "none"}
    config["production"].update(
        n_atoms=16,
        temperatures=[1000],
        replicas=1,
        melt_steps=1000,
        quench_rate=100,  # K/ps, as config/demo.yaml
        steps=10000,
        npt_steps=2000,  # 1 ps relaxes, 1 ps averaged (the teacher: 1000 steps of 2 fs)
    )
    # the teacher at the demo's 2 fs: 2 ps NPT as the DP's, 0.5 ps + 4 ps NVT
    config["teacher_md"].update(
        timestep_fs=2.0, npt_steps=1000, equilibration_steps=250, steps=2000, test_frames=20
    )
    return config


def check_closed_loop(res, temperature: float) -> pd.DataFrame:
    """Converged loop, DP D within the teacher's combined 95 % interval at ``temperature``,
    every iteration scored on the fixed teacher test set; returns that test table."""
    loop = pd.read_csv(res / "loop" / "iterations.csv")
    last = loop[loop["iteration"] == loop["iteration"].max()]
    assert (last["status"] == "converged").all(), loop.to_string()
    assert (last["accurate_ratio"] >= 0.9).all(), loop.to_string()
    table = pd.read_csv(res / "teacher" / "comparison.csv")
    row = table[table["temperature_K"] == temperature].iloc[0]
    assert row["D_cm2_s_teacher"] > 0 and row["D_cm2_s_dp"] > 0
    assert bool(row["D_agrees"]), table.to_string()
    test = pd.read_csv(res / "teacher" / "test_rmse.csv")
    assert set(test["iteration"]) == set(loop["iteration"]), test.to_string()
    assert (test["frames"] == 20).all() and (test["rmse_f"] > 0).all()
    html = (res / "report.html").read_text()
    assert "Teacher vs DP" in html and "fixed test set" in html
    return test


@pytest.mark.slow
def test_reduced_teacher_campaign_converges_and_recovers_teacher_d(tmp_path):
    run_workflow(tmp_path, reduced_campaign())
    check_closed_loop(tmp_path / "results", 1000)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("LPSFLOW_TEACHER_LOOP") != "1",
    reason="opt-in (LPSFLOW_TEACHER_LOOP=1): the whole teacher demo, about 20 min on 2 cores",
)
def test_teacher_campaign_converges_and_dp_matches_teacher(tmp_path):
    run_workflow(tmp_path, teacher_campaign())
    res = tmp_path / "results"
    check_closed_loop(res, 1000)
    speed = pd.read_csv(res / "teacher" / "speed.csv").set_index("engine")
    assert speed.loc["teacher", "atom_steps_per_s"] > 0
    assert speed.loc["deepmd", "atom_steps_per_s"] > 0
    html = (res / "report.html").read_text()
    assert "Teacher vs DP" in html and "chgnet-0.3.0" in html
