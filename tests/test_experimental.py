"""Shipped experimental references and the like-with-like selection of the report."""

import numpy as np
import pandas as pd

from lpsflow.report import (
    COMPOSITION_TOL,
    REFERENCE_STATES,
    comparable_references,
    experiment_comparison,
    experimental_references,
    plot_arrhenius,
    select_references,
)


def test_every_shipped_reference_has_state_source_and_a_positive_sigma():
    exp = experimental_references()
    assert len(exp) > 0
    assert set(exp["state"]) <= set(REFERENCE_STATES)
    for col in ("material", "reference", "checked_against", "temperature"):
        assert exp[col].notna().all(), col
        assert (exp[col].astype(str).str.strip().str.len() > 0).all(), col
    assert (exp["checked_against"].str.len() > 10).all()  # says what text was read
    sigma = exp["sigma_rt_S_cm"].astype(float)
    assert np.isfinite(sigma).all() and (sigma > 0).all()
    x = exp["x_li2s"].astype(float)
    assert ((x > 0) & (x < 1)).all()
    ea = exp["Ea_eV"].astype(float)
    assert (ea.isna() | (ea > 0)).all()  # Ea only where the source gives it
    t = exp["temperature_K"].astype(float)
    assert (t.isna() | ((t > 250) & (t < 400))).all()


def test_shipped_references_hold_a_75_glass():
    exp = experimental_references()
    glass = exp[exp["state"] == "glass"]
    assert np.isclose(glass["x_li2s"].astype(float), 0.75).any()


SYNTH = pd.DataFrame(
    {
        "material": ["g75", "gc75", "g70", "gc70", "c75", "g755", "g77"],
        "x_li2s": [0.75, 0.75, 0.70, 0.70, 0.75, 0.755, 0.77],
        "state": ["glass", "glass-ceramic", "glass", "glass-ceramic", "crystal", "glass", "glass"],
        "temperature": ["25 C"] * 7,
        "temperature_K": [298.15, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
        "sigma_rt_S_cm": [1e-4, 1e-3, 5e-5, 3e-3, 2e-4, 2e-4, 3e-4],
        "Ea_eV": [0.4, np.nan, np.nan, 0.12, np.nan, np.nan, np.nan],
        "reference": ["A, a", "B, b", "C, c", "D, d", "E, e", "F, f", "G, g"],
    }
)
COMPS = [
    {"name": "LPS75", "x": 0.75},
    {"name": "LPS80", "x": 0.80},
    {"name": "LPSO", "x": 0.70, "oxygen_fraction": 0.1},  # oxysulfide: no binary reference
    {"name": "beta", "structure": "Li3PS4.cif"},  # crystal file: no x
]


def test_selection_picks_by_composition_within_tolerance_and_by_state():
    assert COMPOSITION_TOL == 0.01
    glass = select_references(SYNTH, COMPS)
    assert list(glass["material"]) == ["g75", "g755"]  # 0.77 is 0.02 away: left out
    assert set(glass["composition"]) == {"LPS75"}
    assert set(glass["comparison"]) == {"glass vs glass"}
    both = select_references(SYNTH, COMPS, ("glass", "glass-ceramic"))
    assert list(both["material"]) == ["g75", "gc75", "g755"]
    assert dict(zip(both["material"], both["comparison"], strict=True))["gc75"] == (
        "glass vs glass-ceramic"
    )
    assert "c75" not in set(both["material"])  # crystals are not matched to a glass
    # the 70 % references match nothing: the only 0.70 composition is an oxysulfide
    assert not set(both["material"]) & {"g70", "gc70"}
    assert select_references(SYNTH, [{"name": "X", "structure": "x.cif"}]).empty
    assert comparable_references(SYNTH, COMPS).equals(glass)


def test_selection_with_a_wider_tolerance_and_two_compositions():
    comps = [{"name": "LPS70", "x": 0.70}, {"name": "LPS77", "x": 0.765}]
    out = select_references(SYNTH, comps, ("glass",))
    assert list(zip(out["composition"], out["material"], strict=True)) == [
        ("LPS70", "g70"),
        ("LPS77", "g755"),
        ("LPS77", "g77"),
    ]
    assert select_references(SYNTH, comps, ("glass",), atol=0.001)["material"].tolist() == ["g70"]


def test_comparison_table_puts_glass_first_beside_the_simulation():
    refs = select_references(SYNTH, [{"name": "LPS75", "x": 0.75}], ("glass-ceramic", "glass"))
    arr = pd.DataFrame({"composition": ["LPS75"], "sigma_ref_S_cm": [2e-4], "Ea_eV": [0.35]})
    table = experiment_comparison(refs, arr)
    assert table["comparison"].tolist()[:2] == ["glass vs glass", "glass vs glass"]
    assert table["comparison"].iloc[-1] == "glass vs glass-ceramic"
    assert (table["simulated sigma(298 K) S/cm"] == 2e-4).all()
    assert (table["simulated Ea_eV"] == 0.35).all()
    assert "reference" in table
    empty = experiment_comparison(select_references(SYNTH, [{"name": "Z", "x": 0.5}]), arr)
    assert empty.empty


def test_arrhenius_plot_draws_glass_and_glass_ceramic_references():
    cond = pd.DataFrame(
        {
            "composition": ["LPS75"] * 2,
            "temperature_K": [500.0, 600.0],
            "sigma_S_cm": [1e-3, 3e-3],
            "sigma_err_S_cm": [1e-4] * 2,
        }
    )
    arr = pd.DataFrame({"composition": ["LPS75"], "slope": [np.nan], "intercept": [np.nan]})
    refs = select_references(SYNTH, [{"name": "LPS75", "x": 0.75}], ("glass", "glass-ceramic"))
    assert plot_arrhenius(cond, arr, refs).startswith("data:image/png")
    none = select_references(SYNTH, [{"name": "Z", "x": 0.5}])
    assert plot_arrhenius(cond, arr, none).startswith("data:image/png")
