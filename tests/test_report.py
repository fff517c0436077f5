"""results/report.html: self-contained, renders in headless Chromium offline, sections present."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pandas as pd
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


def look_in_chromium(report, tmp_path, width: int = 1280) -> dict:
    """Open ``report`` offline in headless Chromium at ``width`` px: console errors, requests,
    text, decoded image widths, and how far the page and each table box reach sideways."""
    from playwright.sync_api import sync_playwright

    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri())
        page.screenshot(path=str(tmp_path / f"report_{width}.png"), full_page=True)
        text = page.inner_text("body")
        images = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        page_width = page.evaluate("document.documentElement.scrollWidth")
        boxes = page.eval_on_selector_all(
            "table",
            "els => els.map(t => { const b = t.parentElement.getBoundingClientRect();"
            " return [t.parentElement.className, b.right]; })",
        )
        browser.close()
    return {
        "errors": errors,
        "requests": requests,
        "text": text,
        "images": images,
        "page_width": page_width,
        "boxes": boxes,
        "screenshot": tmp_path / f"report_{width}.png",
    }


def assert_fits_the_page(seen: dict, width: int) -> None:
    """No table widens the page: each sits in a div.table-wrap that ends within the viewport."""
    assert seen["page_width"] <= width, seen["page_width"]
    assert seen["boxes"] and all(cls == "table-wrap" for cls, _ in seen["boxes"])
    assert all(right <= width for _, right in seen["boxes"])


@pytest.mark.slow
def test_report_renders_offline(local_campaign, tmp_path):
    from lpsflow.report import report_problems

    report = local_campaign / "results" / "report.html"
    html = report.read_text()
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert report_problems(html) == []
    seen = look_in_chromium(report, tmp_path)
    assert seen["errors"] == []
    assert all(u.startswith(("file:", "data:")) for u in seen["requests"]), seen["requests"]
    for section in SECTIONS:
        assert section in seen["text"]
    images = seen["images"]
    assert len(images) >= 6 and all(w > 100 for w in images)  # every figure decoded
    assert seen["screenshot"].stat().st_size > 50_000
    for comp in ("LPS75", "LPS80"):
        assert comp in seen["text"]
    assert "S/cm" in html or "sigma_S_cm" in seen["text"]
    assert_fits_the_page(seen, 1280)


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


# ---------------------------------------------------------------------------------- a report
# built from the library's own tables of a made-up campaign: one composition, a model Tg of
# 500 K, transport at 350-700 K with a caged run (not diffusive), a run that left the trusted
# region, one with a huge error, and a teacher comparison biased low at every point.
TG_K = 500.0
TEMPS = (350.0, 400.0, 450.0, 600.0, 700.0)


def _transport_runs(rng) -> tuple[pd.DataFrame, dict]:
    import numpy as np
    import pandas as pd

    from lpsflow.transport import diffusive_check, nernst_einstein

    lags = np.arange(2000) * 0.5  # ps
    rows, curves = [], {}
    for temp in TEMPS:
        d_a2_ps = 0.4 * np.exp(-0.2 / 8.617e-5 * (1 / temp - 1 / 700.0))
        if temp >= TG_K:
            d_a2_ps *= 3  # the melt: faster than the glass law
        for replica in (0, 1):
            msd = 6 * d_a2_ps * lags * np.exp(0.05 * rng.normal())
            if temp == 350.0 and replica == 1:  # caged: vibration only, never diffusive
                msd = 1.5 * (1 - np.exp(-lags / 2.0))
            d = float(np.polyfit(lags[100:400], msd[100:400], 1)[0]) / 6 * 1e-4  # cm^2/s
            check = diffusive_check(lags, msd, d)
            sigma = nernst_einstein(d, 24, 3000.0, temp) if d > 0 else 0.0
            err = 0.08 if not (temp == 400.0 and replica == 1) else 12.0  # a huge error
            untrusted = temp == 700.0 and replica == 1
            rows.append(
                {
                    "composition": "LPS75",
                    "replica": replica,
                    "temperature_K": temp,
                    "run_ps": float(lags[-1]),
                    "fit_start_ps": 50.0,
                    "fit_end_ps": 200.0,
                    **check,
                    "D_cm2_s": d,
                    "D_err_cm2_s": err * abs(d),
                    "D_boot_err_cm2_s": 0.02 * abs(d),
                    "sigma_S_cm": sigma,
                    "sigma_err_S_cm": err * abs(sigma),
                    "sigma_collective_S_cm": 1.5 * sigma,
                    "sigma_collective_err_S_cm": 1.5 * err * abs(sigma),
                    "collective_source": "charge MSD (all.dcd)",
                    "haven_ratio": 1 / 1.5,
                    "untrusted": untrusted,
                    "untrusted_fraction": 0.3 if untrusted else 0.0,
                    "max_devi_f": 0.6 if untrusted else 0.05,
                }
            )
            curves[(replica, temp)] = pd.DataFrame({"lag_ps": lags[::10], "msd_A2": msd[::10]})
    return pd.DataFrame(rows), curves


def synthetic_report(root, atoms) -> str:
    """Render results/report.html of the made-up campaign under ``root``; returns the HTML."""
    from lpsflow.report import render_checked

    html, problems = render_checked(synthetic_context(root, atoms))
    (root / "results" / "report.html").write_text(html)
    return html


def synthetic_context(root, atoms) -> dict:
    """The report context of the made-up campaign, its tables written under ``root``."""
    import json

    import numpy as np
    import pandas as pd
    import yaml
    from ase.io import write
    from conftest import REPO, validated

    from lpsflow.glass_structure import analyse
    from lpsflow.report import build_context
    from lpsflow.settings import Settings
    from lpsflow.teacher import compare
    from lpsflow.transport import runs_table, summarize_runs

    rng = np.random.default_rng(0)
    res = root / "results"
    (res / "transport").mkdir(parents=True)
    inp = {}

    def csv(name, df):
        path = res / name
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, index=False)
        return str(path)

    inp["summary"] = csv(
        "init/summary.csv", pd.DataFrame({"composition": ["LPS75"], "frames": [8]})
    )
    inp["init_failures"] = csv(
        "init/failures.csv", pd.DataFrame(columns=["composition", "key", "status", "reason"])
    )
    inp["iterations"] = csv(
        "loop/iterations.csv",
        pd.DataFrame(
            {
                "iteration": [0, 1],
                "composition": "LPS75",
                "accurate_ratio": [0.6, 0.97],
                "candidate_ratio": [0.3, 0.03],
                "n_train": [20, 30],
                "n_test": [4, 6],
                "test_rmse_f": [0.3, 0.15],
                "test_rmse_e": [0.01, 0.005],
                "status": ["not converged", "converged"],
            }
        ),
    )
    frames = [
        csv(f"loop/frames_{i}.csv", pd.DataFrame({"max_devi_f": rng.lognormal(-2, 1, 50)}))
        for i in range(2)
    ]
    labels = [
        csv(
            f"loop/labels_{i}.csv",
            pd.DataFrame(
                {"composition": "LPS75", "key": ["a", "b"], "status": "ok", "engine_runs": 1}
            ),
        )
        for i in range(2)
    ]
    (res / "loop" / "tables.json").write_text(json.dumps({"frames": frames, "labels": labels}))
    inp["loop_tables"] = str(res / "loop" / "tables.json")
    dft = rng.normal(size=40)
    inp["parity"] = csv(
        "model/parity.csv",
        pd.DataFrame(
            {
                "quantity": ["force_eV_A"] * 40,
                "split": ["train"] * 20 + ["test"] * 20,
                "dft": dft,
                "dp": dft + 0.1 * rng.normal(size=40),
            }
        ),
    )
    runs, curves = _transport_runs(rng)
    tg = {"LPS75": {"composition": "LPS75", "tg_K": TG_K, "tg_err_K": 20.0, "method": "two-line"}}
    table, arr = summarize_runs(runs, tg)
    inp["transport_runs"] = csv("transport/runs.csv", runs_table(runs, tg))
    inp["conductivity"] = csv("transport/conductivity.csv", table)
    inp["arrhenius"] = csv("transport/arrhenius.csv", arr)
    inp["msd"] = [
        csv(f"production/LPS75/replica_{r}/T{t:g}/msd.csv", df) for (r, t), df in curves.items()
    ]
    structure = {"composition": "LPS75", **analyse(atoms, rmax=3.2)}
    (res / "production" / "LPS75" / "structure.json").write_text(json.dumps(structure))
    inp["structure"] = [str(res / "production" / "LPS75" / "structure.json")]
    inp["melt_quench"] = [str(res / "production" / "LPS75" / "replica_0" / "melt_quench" / "x")]
    atoms = atoms.copy()
    atoms.info.update(composition="LPS75", units="PS4: 1")
    write(res / "sample.extxyz", atoms)
    inp["samples"] = [str(res / "sample.extxyz")]
    runs_json = []
    for temp in TEMPS:  # PS4 fraction near 1 with a spread that would cross 1 unclipped
        run = _run("LPS75", temp, 0.97)
        run["p_fraction_std"]["PS4"] = 0.08
        path = res / "production" / "LPS75" / "replica_0" / f"T{temp:g}" / "structure.json"
        path.write_text(json.dumps(run))
        runs_json.append(str(path))
    inp["structure_runs"] = runs_json
    # teacher vs DP at three temperatures: DP 0.8 x the teacher with a little noise
    temps = [600.0, 700.0, 800.0]
    d_t = np.array([2e-6, 4e-6, 7e-6])
    teacher = pd.DataFrame(
        {
            "composition": "LPS75",
            "temperature_K": temps,
            "D_cm2_s": d_t,
            "D_err_cm2_s": 0.04 * d_t,
            "sigma_S_cm": d_t * 1e4,
            "sigma_err_S_cm": 0.04 * d_t * 1e4,
            "volume_A3": 1000.0,
        }
    )
    noise = np.exp(0.03 * rng.normal(size=3))
    dp = teacher.assign(
        D_cm2_s=0.8 * d_t * noise, sigma_S_cm=0.8 * d_t * 1e4 * noise, volume_A3=1010.0
    )
    inp["teacher_comparison"] = csv("teacher/comparison.csv", compare(dp, teacher))
    inp["teacher_arrhenius"] = csv(
        "teacher/arrhenius.csv", pd.DataFrame([{"composition": "LPS75", "Ea_eV": 0.3}])
    )
    inp["teacher_speed"] = csv(
        "teacher/speed.csv",
        pd.DataFrame(
            [
                {"composition": "LPS75", "run": "T600", "engine": "teacher", "n_atoms": 8}
                | {"md_steps": 100, "md_wall_s": 10.0, "atom_steps_per_s": 80.0}
            ]
        ),
    )
    (res / "teacher" / "LPS75").mkdir(parents=True)
    (res / "teacher" / "LPS75" / "structure.json").write_text(json.dumps(structure))
    inp["teacher_structure"] = [str(res / "teacher" / "LPS75" / "structure.json")]
    config = validated(yaml.safe_load((REPO / "config" / "demo.yaml").read_text()))
    science = Settings.from_config(config).science()
    msd_runs = [{"composition": "LPS75", "replica": r, "temperature_K": t} for (r, t) in curves]
    return build_context(inp, science, ["Li", "P", "S"], str(root / "store"), msd_runs, ["LPS75"])


@pytest.fixture
def made_up_report(tmp_path, li3ps4_8):
    html = synthetic_report(tmp_path, li3ps4_8)
    return tmp_path / "results" / "report.html", html


def _table(html: str, first_column: str, has: str):
    """The first table of the page whose header starts with ``first_column`` and has ``has``."""
    from lpsflow.report import _Tables

    parser = _Tables()
    parser.feed(html)
    for t in parser.joined():
        if t["header"][:1] == [first_column] and has in t["header"]:
            return [dict(zip(t["header"], r, strict=True)) for r in t["rows"]]
    raise AssertionError(f"no table with {first_column} and {has}")


def test_report_checks_itself(made_up_report):
    """Non-diffusive, untrusted and huge-error runs, a Tg, a biased teacher: the rendered
    page has no negative bound of D or sigma, fractions in [0, 1], an honest run_needed_ps,
    every table wrapped, the sub-Tg law apart from the melt and the pooled bias."""
    from lpsflow.report import report_problems

    _, html = made_up_report
    assert report_problems(html) == []
    runs = _table(html, "composition", "untrusted")  # every transport run
    slow = [r for r in runs if r["diffusive"] == "False"]
    assert slow and all(float(r["run_needed_ps"]) > float(r["run_ps"]) for r in slow)
    listed = _table(html, "composition", "run_needed_basis")  # the runs not diffusive
    assert len(listed) == len(slow)
    assert all(float(r["run_needed_ps"]) > float(r["run_ps"]) for r in listed)
    assert any(r["untrusted"] == "True" for r in runs)
    lows = [float(r[c]) for r in runs for c in ("D_lo95", "sigma_lo95") if r[c] != "–"]
    assert lows and min(lows) >= 0
    cond = _table(html, "composition", "sigma_lo95")
    assert {r["regime"] for r in cond} == {"below_tg", "above_tg"}
    assert min(float(r["sigma_lo95"]) for r in cond) >= 0
    fit = _table(html, "composition", "fitted_T_K")[0]
    assert fit["fitted_T_K"] == "350 400 450" and float(fit["sigma_ref_lo_S_cm"]) > 0
    melt = _table(html, "composition", "melt_fitted_T_K")[0]
    assert melt["melt_fitted_T_K"] == "600 700" and "at least 3" in melt["melt_note"]
    bias = {r["quantity"]: r for r in _table(html, "quantity", "pooled_ratio")}
    assert bias["sigma"]["verdict"] == "DP low" and 0.7 < float(bias["sigma"]["pooled_ratio"]) < 0.9
    assert "Tg was not determined" not in html and "Above Tg (the melt)" in html


def test_report_lists_what_its_self_check_finds(tmp_path, li3ps4_8):
    from lpsflow.report import render_checked, table_html

    context = synthetic_context(tmp_path, li3ps4_8)
    html, problems = render_checked(context)
    assert problems == [] and "self-check" not in html
    bad = pd.DataFrame({"composition": ["A"], "sigma_lo95": [-19.0]})
    html, problems = render_checked({**context, "conductivity": table_html(bad)})
    assert len(problems) == 1 and "self-check" in html and "sigma_lo95 = -19" in html


def test_wide_tables_are_split_and_read_back_as_one():
    from lpsflow.report import _Tables, table_html

    wide = pd.DataFrame({"composition": ["A", "B"], "temperature_K": [400.0, 500.0]})
    for i in range(25):
        wide[f"col_{i}"] = [i, -i]
    html = table_html(wide, max_columns=10)
    assert html.count("<table") == 4 and html.count('class="table-wrap"') == 4  # 25 = 8+8+8+1
    assert html.count(">composition</th>") == 4  # keys repeated in every part
    assert "col_<wbr>0" in html and '<td class="n">-24</td>' in html
    parser = _Tables()
    parser.feed(html)
    (whole,) = parser.joined()
    assert whole["header"] == list(wide.columns) and whole["wrapped"]
    assert whole["rows"][1][:3] == ["B", "500", "0"] and whole["rows"][1][-1] == "-24"
    assert table_html(wide.iloc[:, :5]).count("<table") == 1


def test_report_problems_finds_what_is_wrong():
    from lpsflow.report import report_problems, table_html

    bad = pd.DataFrame(
        {
            "composition": ["A", "A"],
            "run_ps": [100.0, 100.0],
            "diffusive": [False, True],
            "run_needed_ps": [100.0, 100.0],
            "sigma_lo95": [-19.0, 1e-3],
            "untrusted_fraction": [1.2, 0.0],
        }
    )
    problems = report_problems(table_html(bad))
    assert len(problems) == 3, problems
    assert any("sigma_lo95" in p for p in problems) and any("fraction" in p for p in problems)
    assert any("run_needed_ps" in p for p in problems)
    assert report_problems(table_html(bad.iloc[1:])) == []  # a diffusive run needs itself
    failed = bad.iloc[:1].assign(run_ps=np.nan, run_needed_ps=np.nan, sigma_lo95=0.0)
    assert report_problems(table_html(failed.assign(untrusted_fraction=1.0))) == []  # MD failed
    assert len(report_problems(table_html(failed.assign(run_ps=10.0)))) == 2  # no estimate
    naked = bad.iloc[1:].to_html(index=False)
    assert "not in a div.table-wrap" in report_problems(naked)[0]
    # a split table: run_ps and run_needed_ps in different parts are still compared
    split = table_html(
        bad.iloc[:1].drop(columns=["sigma_lo95", "untrusted_fraction"]), max_columns=2
    )
    assert split.count("<table") == 3
    assert len(report_problems(split)) == 1 and "run_needed_ps" in report_problems(split)[0]


@pytest.mark.parametrize("width", [1280, 800])
def test_made_up_report_in_chromium(made_up_report, tmp_path, width):
    """The report of non-diffusive, untrusted and Tg-split runs, seen in the browser: offline,
    every figure decoded, no table wider than the page (at a laptop and a narrow window)."""
    report, html = made_up_report
    seen = look_in_chromium(report, tmp_path, width)
    assert seen["errors"] == []
    assert all(u.startswith(("file:", "data:")) for u in seen["requests"]), seen["requests"]
    for section in [*SECTIONS, "Teacher vs DP", "Runs that are not diffusive"]:
        assert section in seen["text"]
    assert "Above Tg (the melt)" in seen["text"] and "pooled DP / teacher ratio" in seen["text"]
    assert len(seen["images"]) >= 8 and all(w > 100 for w in seen["images"])
    assert_fits_the_page(seen, width)
