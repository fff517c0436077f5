"""README's demo figures come from the demo record (bench/_readme.py), and say whether that
record is older than the science code."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))

import _common  # noqa: E402
import _readme  # noqa: E402
import demo_campaign  # noqa: E402


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()


def test_readme_demo_block_is_the_one_generated_from_the_records():
    text = (REPO / "README.md").read_text()
    expected = _readme.demo_block(*_readme.load_records())
    assert _readme.current_block(text) == expected, (
        "README's demo figures differ from bench/records/demo_campaign*.json: "
        "run `python -m bench --readme` (after `python -m bench demo_campaign`)"
    )


def science() -> dict:
    return {
        "n_iterations": 2,
        "converged": True,
        "iterations": [
            {
                "iteration": 0,
                "composition": "LPS75",
                "n_train": 87,
                "test_rmse_f": 0.155,
                "accurate_ratio": 0.13,
                "candidate_ratio": 0.85,
                "failed_ratio": 0.02,
                "status": "continue",
            },
            {
                "iteration": 1,
                "composition": "LPS75",
                "n_train": 175,
                "test_rmse_f": 0.171,
                "accurate_ratio": 0.91,
                "candidate_ratio": 0.09,
                "failed_ratio": 0.0,
                "status": "converged",
            },
        ],  # fmt: skip
        "fixed_test": [
            {"iteration": 0, "composition": "LPS75", "frames": 40, "rmse_f": 0.149},
            {"iteration": 1, "composition": "LPS75", "frames": 40, "rmse_f": 0.127},
        ],
        "teacher": [
            {
                "composition": "LPS75",
                "temperature_K": 800.0,
                "D_cm2_s_dp": 1.23e-4,
                "D_err_cm2_s_dp": 0.45e-4,
                "D_cm2_s_teacher": 1.89e-4,
                "D_err_cm2_s_teacher": 0.32e-4,
                "D_ratio": 0.65,
                "sigma_S_cm_dp": 4.2,
                "sigma_S_cm_teacher": 6.8,
                "volume_ratio": 1.47,
                "D_agrees": True,
                "sigma_agrees": False,
            },
        ],  # fmt: skip
        "glasses": [{"composition": "LPS75", "replica": 0, "density_g_cm3": 1.52}],
    }


def record(commit: str, dirty: bool = False) -> dict:
    return {
        "name": "demo_campaign",
        "command": "python bench/demo_campaign.py",
        "date": "2026-12-04T00:00:00+00:00",
        "cores": 2,
        "loadavg_start": [0.5],
        "loadavg_end": [1.5],
        "git": {"commit": commit, "dirty": dirty},
        "figures": {"demo end to end (time -v)": {"value": 1200.0, "unit": "s", "target": ""}},
        "inputs": {"seed_offset": 0},
        "science": science(),
    }


def test_block_quotes_the_records_numbers():
    block = _readme.demo_block(record(""))
    assert block.startswith(_readme.BEGIN) and block.endswith(_readme.END)
    assert "converged at iteration 1" in block
    assert "20.0 min" in block
    assert "| 1 | LPS75 | 175 | 0.171 | 0.127 | 0.91 | 0.09 | 0.00 | converged |" in block
    assert "| LPS75 | 800 | 0.000123 +- 4.5e-05 | 0.000189 +- 3.2e-05 | 0.65 |" in block
    assert "| 1.47 | yes, no |" in block
    assert "1.52" in block
    assert "**Stale or unknown**" in block  # no commit named


def test_a_fresh_clone_run_quotes_setup_and_demo_times():
    rec = record("")
    del rec["figures"]["demo end to end (time -v)"]
    rec["figures"].update(
        {
            "make setup on a fresh clone (time -v)": {"value": 270.0},
            "make demo after it (time -v)": {"value": 1500.0},
            "fresh clone to report, set-up included": {"value": 1770.0},
        }
    )
    block = _readme.demo_block(rec)
    assert "End to end: 25.0 min." in block
    assert "`make setup` 4.5 min, then `make demo` 25.0 min." in block


def test_unconverged_record_says_so():
    rec = record("")
    rec["science"]["converged"] = False
    assert "not converged after 2 iterations" in _readme.demo_block(rec)


def test_block_says_when_the_science_code_changed_since_the_record():
    if git("rev-parse", "--is-shallow-repository") != "false":
        pytest.skip("needs the whole git history")
    last_science = git("log", "-1", "--format=%H", "--", "src/lpsflow")
    before = git("rev-parse", f"{last_science}^")
    assert "**Stale**: made at commit" in _readme.demo_block(record(before))
    head = git("rev-parse", "HEAD")
    assert "is unchanged since" in _readme.demo_block(record(head))
    assert "uncommitted science changes" in _readme.demo_block(record(head, dirty=True))
    assert "not in this checkout's history" in _readme.demo_block(record("f" * 40))


def test_seed_records_get_one_row_each():
    seeds = []
    for k in (1, 2):
        rec = record("")
        rec["name"], rec["inputs"]["seed_offset"] = f"demo_campaign_seed{k}", k
        seeds.append(rec)
    seeds[1]["science"]["converged"] = False
    block = _readme.demo_block(record(""), seeds)
    row = "| 2 | yes | 0.65-0.65 | 1.47-1.47 | 1/1 | 0/1 | 1.52 | 20 |  |"
    assert f"| demo_campaign | 0 {row}" in block  # the demo's own record is the first row
    assert f"| demo_campaign_seed1 | 1 {row}" in block
    assert "| demo_campaign_seed2 | 2 | 2 | no |" in block
    # the count over all rows: the box (1.47) is not within 10 % anywhere
    assert (
        "Over the 3 campaigns: converged 2/3; D within the combined 95 % interval at 3/3 "
        "points, sigma at 0/3, DP box within 10 % of the teacher's at 0/3." in block
    )


def test_replace_block_needs_the_markers():
    with pytest.raises(ValueError, match="markers"):
        _readme.replace_block("no markers here", "x")
    text = f"a\n{_readme.BEGIN}\nold\n{_readme.END}\nb"
    assert _readme.replace_block(text, "NEW") == "a\nNEW\nb"


def test_records_carry_the_commit(tmp_path):
    rec = _common.Record("x", {}, smoke=True)
    assert rec.data["git"]["commit"] == git("rev-parse", "HEAD")
    assert rec.data["git"]["dirty"] in (True, False)


def test_campaign_science_reads_a_finished_run(tmp_path):
    res = tmp_path / "results"
    (res / "loop").mkdir(parents=True)
    (res / "teacher").mkdir()
    glass = res / "production" / "LPS75" / "replica_1"
    glass.mkdir(parents=True)
    rows = science()["iterations"]
    pd.DataFrame(rows).assign(n_test=3, candidate=1).to_csv(res / "loop/iterations.csv")
    rmse = pd.DataFrame(
        [
            {
                "iteration": i,
                "model": m,
                "composition": "LPS75",
                "temperature_K": 800,
                "frames": 20,
                "rmse_e": 0.01,
                "rmse_f": f,
                "rmse_v": 0.05,
            }
            for i, m, f in ((0, 0, 0.1), (0, 1, 0.2), (1, 0, 0.1), (1, 1, 0.1))
        ]  # fmt: skip
    )
    rmse.to_csv(res / "teacher/test_rmse.csv", index=False)
    pd.DataFrame(science()["teacher"]).to_csv(res / "teacher/comparison.csv", index=False)
    (glass / "density.json").write_text(json.dumps({"density_g_cm3": 1.6}))
    sci = demo_campaign.campaign_science(tmp_path)
    assert sci["n_iterations"] == 2 and sci["converged"] is True
    assert [r["n_train"] for r in sci["iterations"]] == [87, 175]
    assert [round(r["rmse_f"], 3) for r in sci["fixed_test"]] == [0.15, 0.1]
    assert sci["teacher"][0]["volume_ratio"] == 1.47
    assert sci["glasses"] == [{"composition": "LPS75", "replica": 1, "density_g_cm3": 1.6}]


def test_seed_offset_shifts_every_seed_and_nothing_else():
    demo = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    schema = REPO / "workflow" / "schemas" / "config.schema.yaml"
    base = demo_campaign.with_seed_offset(demo, 0, schema)
    shifted = demo_campaign.with_seed_offset(demo, 3, schema)

    def seeds(node, path=""):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from ([(f"{path}.{k}", v)] if k == "seed" else seeds(v, f"{path}.{k}"))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from seeds(v, f"{path}[{i}]")

    before, after = dict(seeds(base)), dict(seeds(shifted))
    assert len(before) >= 5 and ".compositions[0].seed" in before and ".train.seed" in before
    assert {k: v + 3 for k, v in before.items()} == after

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "seed"}
        return [strip(v) for v in node] if isinstance(node, list) else node

    assert strip(base) == strip(shifted)
