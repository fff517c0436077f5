"""Densities against experiment and the measured reference files (lpsflow.glass_density)."""

import numpy as np
import pandas as pd
import pytest

from lpsflow.crystals import PHASES
from lpsflow.glass_density import (
    campaign_phases,
    crystal_phases,
    density_comparison,
    measured_densities,
    measured_tg,
    quench_rate_sigma,
    quench_rate_table,
)
from lpsflow.glass_transition import tg_table


def test_shipped_measured_values_have_sources_and_match_the_shipped_cells():
    dens = measured_densities()
    assert len(dens) > 0
    assert (dens["material"].str.len() > 0).all() and (dens["density_g_cm3"] > 1).all()
    for col in ("reference", "checked_against"):
        assert (dens[col].astype(str).str.len() > 10).all(), col
    # the crystal rows computed from a shipped cell agree with that cell's published density
    for name in ("beta-Li3PS4",):
        row = dens[dens["material"] == name].iloc[0]
        assert row["density_g_cm3"] == pytest.approx(PHASES[name].density_g_cm3, abs=1e-3)
    tg = measured_tg()
    assert (tg["tg_K"] > 300).all() and (tg["reference"].str.len() > 10).all()
    assert np.isclose(tg["x_li2s"], 0.75).any()


def test_each_composition_gets_its_shipped_crystal():
    assert crystal_phases({"name": "a", "x": 0.75}) == ["beta-Li3PS4"]
    assert crystal_phases({"name": "b", "x": 0.70}) == ["Li7P3S11"]
    assert crystal_phases({"name": "c", "x": 0.80}) == []
    assert crystal_phases({"name": "d", "x": 0.75, "oxygen_fraction": 0.1}) == []
    assert crystal_phases({"name": "e", "structure": "x.cif"}) == []
    comps = [{"name": "a", "x": 0.75}, {"name": "b", "x": 0.7}, {"name": "f", "x": 0.75}]
    assert campaign_phases(comps) == ["Li7P3S11", "beta-Li3PS4"]


MEASURED = pd.DataFrame(
    {
        "material": ["glass70", "beta-Li3PS4", "Li7P3S11"],
        "x_li2s": [0.70, 0.75, 0.70],
        "state": ["glass", "crystal", "crystal"],
        "density_g_cm3": [1.88, 1.85, 1.98],
        "reference": ["G, g", "H, h", "Y, y"],
    }
)


def _glass(comp, replica, rho, rate=9.0, **extra):
    return {
        "composition": comp,
        "replica": replica,
        "kind": "glass",
        "quench_rate_K_ps": rate,
        "npt_density_g_cm3": rho,
        **extra,
    }


def test_glass_compared_with_a_measured_glass_else_with_its_crystal():
    comps = [{"name": "L75", "x": 0.75}, {"name": "L70", "x": 0.70}]
    glasses = [_glass("L75", 0, 1.60), _glass("L75", 1, 1.70), _glass("L70", 0, 1.50)]
    glasses.append(_glass("L70", 1, 1.0, npt_failed="box exploded"))  # left out
    crystals = [{"phase": "beta-Li3PS4", "npt_density_g_cm3": 1.80}]
    table = density_comparison(comps, glasses, crystals, MEASURED).set_index("composition")
    l75, l70, beta = table.loc["L75"], table.loc["L70"], table.loc["beta-Li3PS4"]
    assert l75["compared_with"] == "measured crystal of the same composition"
    assert l75["reference_material"] == "beta-Li3PS4"
    assert l75["model_density_g_cm3"] == pytest.approx(1.65)
    assert l75["model_density_std_g_cm3"] == pytest.approx(np.std([1.6, 1.7], ddof=1))
    assert l75["model_over_reference"] == pytest.approx(1.65 / 1.85)
    assert l75["glass_over_model_crystal"] == pytest.approx(1.65 / 1.80)
    assert l70["compared_with"] == "measured glass" and l70["reference_density_g_cm3"] == 1.88
    assert l70["n_replicas"] == 1 and l70["n_npt_failed"] == 1
    assert beta["kind"] == "shipped crystal" and beta["model_over_reference"] == pytest.approx(
        1.80 / 1.85
    )


def test_no_reference_says_none():
    comps = [{"name": "L80", "x": 0.80}]
    table = density_comparison(comps, [_glass("L80", 0, 1.6)], [], MEASURED)
    assert table.iloc[0]["compared_with"] == "none"
    assert np.isnan(table.iloc[0]["model_over_reference"])


def test_quench_rate_table_and_tg_beside_measured():
    glasses = [_glass("L75", 0, 1.60), _glass("L75", 1, 1.62)]
    glasses += [_glass("L75", 0, 1.55, rate=90.0), _glass("L75", 1, 1.57, rate=90.0)]
    tgs = [
        {"composition": "L75", "quench_rate_K_ps": 9.0, "tg_K": 600.0, "tg_err_K": 20.0},
        {"composition": "L75", "quench_rate_K_ps": 90.0, "tg_K": 650.0, "tg_err_K": 25.0},
    ]
    rates = quench_rate_table(glasses, tgs)
    assert rates["quench_rate_K_ps"].tolist() == [90.0, 9.0]
    assert rates["density_g_cm3"].tolist() == pytest.approx([1.56, 1.61])
    assert rates["tg_K"].tolist() == [650.0, 600.0]
    table = tg_table([{**tgs[0], "x": 0.75}, {**tgs[1], "x": 0.8}], measured_tg())
    assert table["measured_tg_K"].iloc[0] == pytest.approx(482.45)
    assert np.isnan(table["measured_tg_K"].iloc[1])


def test_report_shows_the_glass_stage_tables(tmp_path):
    from lpsflow.report import glass_stage_tables

    pd.DataFrame({"composition": ["L75"], "compared_with": ["measured glass"]}).to_csv(
        tmp_path / "density.csv", index=False
    )
    one_rate = pd.DataFrame({"composition": ["L75"], "quench_rate_K_ps": [9.0]})
    one_rate.to_csv(tmp_path / "rates.csv", index=False)
    inp = {
        "glass_density": str(tmp_path / "density.csv"),
        "quench_rates": str(tmp_path / "rates.csv"),
    }
    out = glass_stage_tables(inp)
    assert "measured glass" in out["glass_density"] and out["glass_tg"] is None
    assert out["quench_rates"] is None  # one rate: no sensitivity to show
    pd.concat([one_rate, one_rate.assign(quench_rate_K_ps=90.0)]).to_csv(
        tmp_path / "rates.csv", index=False
    )
    assert "90" in glass_stage_tables(inp)["quench_rates"]
    assert glass_stage_tables(inp)["quench_rates_sigma"] is None
    quench_rate_sigma([]).to_csv(tmp_path / "sigma.csv", index=False)
    assert (
        glass_stage_tables({**inp, "quench_rates_sigma": str(tmp_path / "sigma.csv")})[
            "quench_rates_sigma"
        ]
        is None
    )  # no sensitivity transport runs


def test_sigma_per_quench_rate_over_diffusive_replicas():
    def run(rate, replica, sigma, diffusive=True):
        return rate, {
            "composition": "L75",
            "replica": replica,
            "temperature_K": 800.0,
            "sigma_S_cm": sigma,
            "D_cm2_s": sigma * 1e-5,
            "diffusive": diffusive,
        }

    runs = [run(9.0, 0, 1.0), run(9.0, 1, 3.0), run(90.0, 0, 5.0), run(90.0, 1, 50.0, False)]
    table = quench_rate_sigma(runs).set_index("quench_rate_K_ps")
    assert table.loc[9.0, "sigma_S_cm"] == 2.0 and table.loc[9.0, "n_diffusive"] == 2
    assert table.loc[90.0, "sigma_S_cm"] == 5.0 and table.loc[90.0, "n_runs"] == 2
    assert list(quench_rate_sigma([]).columns)[:3] == [
        "composition",
        "quench_rate_K_ps",
        "temperature_K",
    ]
