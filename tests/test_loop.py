import numpy as np
import pandas as pd

from lpsflow.loop import Verdict, iteration_table


def test_iteration_table():
    rmse = pd.DataFrame(
        {
            "split": ["test", "test", "train", "train"],
            "composition": ["a", "a", "all", "all"],
            "model": [0, 1, 0, 1],
            "rmse_e": [0.01, 0.03, 0.0, 0.0],
            "rmse_f": [0.1, 0.3, 0.2, 0.2],
            "rmse_v": [0.0, 0.0, 0.0, 0.0],
            "frames": [2, 2, 8, 8],
        }
    )
    ratios = pd.DataFrame(
        {
            "composition": ["a", "b"],
            "job": ["all", "all"],
            "accurate_ratio": [0.5, 1.0],
            "candidate_ratio": [0.5, 0.0],
            "failed_ratio": [0.0, 0.0],
            "candidate": [5, 0],
        }
    )
    data = pd.DataFrame(
        {"composition": ["a", "a", "a", "b"], "split": ["train", "train", "test", "train"]}
    )
    table = iteration_table([rmse], [ratios], [data], [Verdict("continue", 5)])
    a = table.set_index("composition").loc["a"]
    assert (a["n_train"], a["n_test"], a["test_rmse_f"], a["accurate_ratio"]) == (2, 1, 0.2, 0.5)
    b = table.set_index("composition").loc["b"]
    assert b["n_test"] == 0 and np.isnan(b["test_rmse_f"]) and b["status"] == "continue"
    assert "n_too_close" not in table  # selections from before the column existed


def test_iteration_table_counts_collapsed_frames():
    """The selection's too_close flags reach the per-iteration table (and so the report)."""
    from lpsflow.selection import ratios

    frames = pd.DataFrame(
        {
            "composition": ["a"] * 4 + ["b"] * 2,
            "job": [0, 0, 1, 1, 0, 0],
            "class": ["accurate", "failed", "failed", "candidate", "accurate", "accurate"],
            "too_close": [False, True, True, False, False, False],
        }
    )
    per_comp = ratios(frames, ["composition"]).assign(job="all")
    by_job = ratios(frames, ["composition", "job"]).set_index(["composition", "job"])
    assert by_job["too_close"].to_dict() == {("a", 0): 1, ("a", 1): 1, ("b", 0): 0}
    data = pd.DataFrame({"composition": ["a", "b"], "split": ["train", "train"]})
    rmse = pd.DataFrame(
        {
            "split": ["train"],
            "composition": ["all"],
            "model": [0],
            "rmse_e": [0.0],
            "rmse_f": [0.1],
            "rmse_v": [0.0],
            "frames": [2],
        }
    )
    table = iteration_table([rmse], [per_comp], [data], [Verdict("continue", 1)])
    assert table.set_index("composition")["n_too_close"].to_dict() == {"a": 2, "b": 0}
