"""results/report.html: self-contained, renders in headless Chromium offline, sections present."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

SECTIONS = [
    "Campaign summary",
    "Concurrent learning",
    "Final model on the held-out test set",
    "Structure of the production glasses",
    "Li transport",
    "Failures and flags",
]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    """Debian's Chromium, installed with apt-get when missing and running as root."""
    path = shutil.which("chromium")
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        path = shutil.which("chromium")
    if path is None:
        pytest.skip("chromium is not installed and cannot be (not root)")
    return path


@pytest.mark.slow
def test_report_renders_offline(local_campaign, tmp_path):
    from playwright.sync_api import sync_playwright

    report = local_campaign / "results" / "report.html"
    html = report.read_text()
    assert "<script" not in html and "http://" not in html and "https://" not in html
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri())
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        text = page.inner_text("body")
        images = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        browser.close()
    assert errors == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    for section in SECTIONS:
        assert section in text
    assert len(images) >= 6 and all(w > 100 for w in images)  # every figure decoded
    assert (tmp_path / "report.png").stat().st_size > 50_000
    for comp in ("LPS75", "LPS80"):
        assert comp in text
    assert "S/cm" in html or "sigma_S_cm" in text


def _run(comp, temp, ps4, flowed=False, changed=False):
    fractions = {"PS4": ps4, "P2S7": 1 - ps4, "P2S6_edge": 0.0, "P2S6_hypo": 0.0}
    fractions.update(larger=0.0, other=0.0)
    return {
        "composition": comp,
        "temperature_K": temp,
        "n_frames": 10,
        "p_fraction": fractions,
        "p_fraction_std": {k: 0.02 for k in fractions},
        "s_fraction": {"terminal": 0.9, "bridging": 0.1, "free": 0.0},
        "li_s": {"terminal": 3.0, "bridging": 0.5, "free": 0.0, "total": 3.5},
        "unit_change": 0.2 if changed else 0.0,
        "p_switched_fraction": 0.0,
        "units_changed": changed,
        "p_rms_displacement_A": 2.0 if flowed else 0.3,
        "framework_flowed": flowed,
        "rdf": {"P-S": {"r": [1.0, 2.0, 3.0], "g": [0.0, 5.0, 1.0]}},
    }


def test_report_says_crystal_melted_and_shows_densities():
    import pandas as pd

    from lpsflow.report import (
        density_table,
        plot_run_rdfs,
        plot_structure_property,
        structure_runs_table,
    )

    runs = [_run("glass75", 600, 1.0), _run("beta", 600, 1.0, flowed=True), _run("beta", 400, 1.0)]
    runs.append(_run("glass70", 600, 0.5, changed=True))
    kinds = {"glass75": "glass", "glass70": "glass", "beta": "crystal"}
    table = structure_runs_table(runs, kinds)
    keys = zip(table["composition"], table["T (K)"], strict=True)
    verdict = dict(zip(keys, table["verdict"], strict=True))
    assert verdict[("beta", 600)] == "crystal melted or amorphised"
    assert verdict[("beta", 400)] == "stays crystalline"
    assert verdict[("glass70", 600)] == "glass; units changed over the run"
    config = {"compositions": [{"name": "glass75", "x": 0.75, "density": 1.9}]}
    densities = [
        {
            "composition": "glass75",
            "kind": "glass",
            "temperature_K": 300,
            "start_density_g_cm3": 1.9,
            "npt_density_g_cm3": 1.83,
            "npt_density_std_g_cm3": 0.01,
        },
    ]
    npt = [{"composition": "glass75", "temperature_K": 600.0, "npt_density_g_cm3": 1.78}]
    measured = pd.DataFrame(columns=["composition", "density_g_cm3", "reference"])
    dens = density_table(densities, npt, config, measured).iloc[0]
    assert dens["NPT density at 300 K"] == 1.83 and dens["600 K"] == 1.78
    assert dens["packing density"] == 1.9 and dens["measured (verified)"] is None
    cond = pd.DataFrame(
        {
            "composition": ["glass75", "glass70"],
            "temperature_K": [600.0, 600.0],
            "sigma_S_cm": [1e-2, 3e-3],
            "sigma_err_S_cm": [1e-3, 5e-4],
            "D_cm2_s": [1e-5, 4e-6],
            "D_err_cm2_s": [1e-6, 5e-7],
        }
    )
    png = plot_structure_property(cond, runs, {"glass75": 0.75, "glass70": 0.7})
    assert png.startswith("data:image/png;base64,") and len(png) > 5000
    assert plot_run_rdfs(runs).startswith("data:image/png;base64,")
