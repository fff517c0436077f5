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
