"""Bookkeeping of the concurrent-learning loop: the per-iteration summary table."""

from __future__ import annotations

import pandas as pd


def iteration_table(rmse: list, ratios: list, datasets: list, verdicts: list) -> pd.DataFrame:
    """One row per iteration and composition from each iteration's tables.

    Columns: iteration, composition, n_train, n_test, test RMSE (mean over members) of energy
    (eV/atom), force (eV/A) and virial (eV/atom), training-set force RMSE, the accurate /
    candidate / failed ratios of exploration, and the iteration's verdict.
    """
    rows = []
    for i, (r, q, d, v) in enumerate(zip(rmse, ratios, datasets, verdicts, strict=True)):
        train_f = r.loc[r["split"] == "train", "rmse_f"].mean()
        test = r[r["split"] == "test"].groupby("composition")[["rmse_e", "rmse_f", "rmse_v"]].mean()
        sizes = d.groupby(["composition", "split"]).size().unstack(fill_value=0)
        per_comp = q[q["job"].astype(str) == "all"].set_index("composition")
        for comp in sorted(set(sizes.index) | set(per_comp.index)):
            row = {"iteration": i, "composition": comp}
            row["n_train"] = int(sizes.loc[comp].get("train", 0)) if comp in sizes.index else 0
            row["n_test"] = int(sizes.loc[comp].get("test", 0)) if comp in sizes.index else 0
            row["n_excluded"] = (
                int(sizes.loc[comp].get("excluded", 0)) if comp in sizes.index else 0
            )
            for col in ("rmse_e", "rmse_f", "rmse_v"):
                row[f"test_{col}"] = test.loc[comp, col] if comp in test.index else float("nan")
            row["train_rmse_f"] = train_f
            for col in ("accurate_ratio", "candidate_ratio", "failed_ratio", "candidate"):
                row[col] = per_comp.loc[comp, col] if comp in per_comp.index else float("nan")
            row["n_selected_all"] = v["n_selected"]
            row["status"] = v["status"]
            rows.append(row)
    return pd.DataFrame(rows)
