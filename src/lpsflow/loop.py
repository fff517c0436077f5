"""Bookkeeping of the concurrent-learning loop: the verdict of an iteration and the
per-iteration summary table."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

STATUSES = ("continue", "converged", "stalled")


@dataclass(frozen=True)
class Verdict:
    """What an iteration's selection decided.

    ``status``: continue (candidates to label), converged (every composition accurate
    enough, or nothing to label and nothing failed) or stalled (no candidate but failed
    frames). ``n_selected``: candidates sent to DFT; ``accurate_ratio``: per composition;
    ``md_failures``: exploration runs that went wrong (composition, job, reason, records).
    """

    status: str
    n_selected: int
    accurate_ratio: dict = field(default_factory=dict)
    md_failures: list = field(default_factory=list)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"verdict status {self.status!r} not in {STATUSES}")
        if self.n_selected < 0:
            raise ValueError(f"n_selected must be >= 0, got {self.n_selected}")

    @property
    def converged(self) -> bool:
        return self.status == "converged"

    @property
    def stop(self) -> bool:
        """No further iteration: converged or stalled."""
        return self.status != "continue"

    def to_dict(self) -> dict:
        return {**asdict(self), "converged": self.converged, "stop": self.stop}

    def write(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def from_dict(cls, data: dict) -> Verdict:
        return cls(
            data["status"],
            int(data["n_selected"]),
            dict(data.get("accurate_ratio", {})),
            list(data.get("md_failures", [])),
        )

    @classmethod
    def read(cls, path: str | Path) -> Verdict:
        return cls.from_dict(json.loads(Path(path).read_text()))


def iteration_table(
    rmse: list, ratios: list, datasets: list, verdicts: list[Verdict]
) -> pd.DataFrame:
    """One row per iteration and composition from each iteration's tables.

    Columns: iteration, composition, n_train, n_test, test RMSE (mean over members) of energy
    (eV/atom), force (eV/A) and virial (eV/atom), training-set force RMSE, the accurate /
    candidate / failed ratios of exploration, the failed frames whose atoms were closer than
    train.min_distance (``n_too_close``, when the selection recorded it), and the verdict.
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
            if "too_close" in per_comp:  # failed because atoms collapsed (never labelled)
                row["n_too_close"] = int(per_comp["too_close"].get(comp, 0))
            row["n_selected_all"] = v.n_selected
            row["status"] = v.status
            rows.append(row)
    return pd.DataFrame(rows)
