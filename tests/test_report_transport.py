"""Transport parts of the report: like-with-like experiment, MSD of runs that are not diffusive."""

import numpy as np
import pandas as pd
import pytest

from lpsflow.report import (
    comparable_references,
    experimental_references,
    plot_arrhenius,
    plot_not_diffusive,
    run_key,
)

EXP = pd.DataFrame(
    {
        "material": ["a", "b", "c"],
        "x_li2s": [0.75, 0.75, 0.70],
        "state": ["glass", "glass-ceramic", "glass"],
        "sigma_rt_S_cm": [1e-4, 1e-3, 5e-5],
        "reference": ["A, x", "B, y", "C, z"],
    }
)


def test_only_glass_of_the_same_composition_is_comparable():
    comps = [
        {"name": "LPS75", "x": 0.75},
        {"name": "LPS80", "x": 0.80},
        {"name": "LPSO", "x": 0.70, "oxygen_fraction": 0.1},  # oxysulfide: no binary reference
    ]
    out = comparable_references(EXP, comps)
    assert list(out["material"]) == ["a"] and list(out["composition"]) == ["LPS75"]
    assert comparable_references(EXP, [{"name": "X", "structure": "x.cif"}]).empty


def test_shipped_references_name_state_and_source():
    exp = experimental_references()
    assert {
        "state",
        "x_li2s",
        "temperature",
        "sigma_rt_S_cm",
        "reference",
        "checked_against",
    } <= set(exp.columns)
    assert exp["checked_against"].str.len().min() > 10  # every value says where it was read


def test_run_key_matches_the_runs_table_rows():
    """MSD curves (keyed by the workflow's run table) and runs.csv rows meet on one key."""
    run = {"composition": "LPS75", "replica": 2, "temperature_K": 812.5}
    row = pd.Series({"composition": "LPS75", "replica": 2.0, "temperature_K": 812.5})
    assert run_key(run) == run_key(row) == ("LPS75", "2", "812.5")


def test_non_diffusive_runs_are_drawn_and_diffusive_ones_are_not():
    lag = np.linspace(0, 10, 101)
    msd = {("LPS75", "0", "400"): pd.DataFrame({"lag_ps": lag, "msd_A2": 1 - np.exp(-lag)})}
    runs = pd.DataFrame(
        {
            "composition": ["LPS75"],
            "replica": [0],
            "temperature_K": [400.0],
            "diffusive": [False],
            "fit_start_ps": [0.5],
            "fit_end_ps": [2.0],
        }
    )
    assert plot_not_diffusive(msd, runs, [0.05, 0.2], 6.0).startswith("data:image/png")
    assert plot_not_diffusive(msd, runs.assign(diffusive=True), [0.05, 0.2], 6.0) is None


def test_arrhenius_plot_marks_fitted_and_collective():
    cond = pd.DataFrame(
        {
            "composition": ["LPS75"] * 3,
            "temperature_K": [500.0, 600.0, 700.0],
            "sigma_S_cm": [1e-3, 3e-3, 6e-3],
            "sigma_err_S_cm": [1e-4] * 3,
            "sigma_collective_S_cm": [2e-3, 5e-3, 1e-2],
            "sigma_collective_err_S_cm": [5e-4] * 3,
            "fitted": [False, True, True],
        }
    )
    arr = pd.DataFrame({"composition": ["LPS75"], "slope": [np.nan], "intercept": [np.nan]})
    comparable = comparable_references(EXP, [{"name": "LPS75", "x": 0.75}])
    assert plot_arrhenius(cond, arr, comparable).startswith("data:image/png")


def test_arrhenius_plot_draws_the_glass_and_the_melt_apart(monkeypatch):
    """Below Tg: circles and a dashed law down to 298 K; above: triangles and a dotted law
    over the melt's own temperatures only; a vertical line at Tg; bars never below zero."""
    import lpsflow.report as report

    monkeypatch.setattr(report, "figure_png", lambda fig: fig)
    temps = [350.0, 400.0, 450.0, 600.0, 700.0, 800.0]
    sigma = [1e-4, 4e-4, 1e-3, 3e-2, 6e-2, 1e-1]
    cond = pd.DataFrame(
        {
            "composition": ["LPS75"] * 6,
            "temperature_K": temps,
            "sigma_S_cm": sigma,
            "sigma_err_S_cm": [5e-4] + [1e-5] * 5,  # the first: error 5x the value
            "fitted": True,
            "regime": ["below_tg"] * 3 + ["above_tg"] * 3,
        }
    )
    arr = pd.DataFrame(
        {
            "composition": ["LPS75"],
            "slope": [-3000.0],
            "intercept": [5.0],
            "melt_slope": [-1500.0],
            "melt_intercept": [3.0],
            "tg_K": [500.0],
        }
    )
    fig = plot_arrhenius(cond, arr, comparable_references(EXP, []))
    ax = fig.axes[0]
    lines = {line.get_linestyle(): line for line in ax.get_lines() if len(line.get_xdata()) > 2}
    glass_x, melt_x = 1000 / np.asarray(lines["--"].get_xdata()), lines[":"].get_xdata()
    assert glass_x.min() == pytest.approx(298.15) and glass_x.max() == pytest.approx(450)
    assert 1000 / np.max(melt_x) == pytest.approx(600) and 1000 / np.min(melt_x) == pytest.approx(
        800
    )
    markers = {line.get_marker() for line in ax.get_lines()}
    assert {"o", "^"} <= markers
    assert any(line.get_linestyle() == "-." for line in ax.get_lines())  # Tg
    for coll in ax.collections:  # error bar segments: none reaches zero or below
        for seg in coll.get_segments():
            assert (np.asarray(seg)[:, 1] > 0).all()
