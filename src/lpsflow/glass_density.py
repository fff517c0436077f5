"""Densities against experiment: the model's glasses and shipped crystals at ``quench_to``.

Each composition's glass density (g/cm^3, NPT at ``production.pressure`` after the quench,
one value per replica, ``density.json``) is summarised as the replica mean and standard
deviation and compared with, in this order: a measured density of the glass of the same
Li2S fraction (``data/measured_density.csv``, state ``glass``), or, where no source gives
one, the measured density of the crystal of the same composition (the glass is expected a
few per cent lighter than its crystal); the table says which. The shipped crystals
(:mod:`lpsflow.crystals`) of every composition are run by NPT with the final model
(rule ``run_crystal_npt``) and compared with their measured densities: a check of the model's
equation of state that does not depend on how the glass was made.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from ase.formula import Formula

from lpsflow.crystals import PHASES

DATA = Path(__file__).parent / "data"
X_TOL = 1e-3  # Li2S fractions closer than this are the same composition


def measured_densities() -> pd.DataFrame:
    """Checked measured densities (g/cm^3) with their sources (``material``, ``x_li2s``,
    ``state``, ``density_g_cm3``, ``reference``, ``checked_against``)."""
    return pd.read_csv(DATA / "measured_density.csv")


def measured_tg() -> pd.DataFrame:
    """Checked measured glass transition temperatures (K) with their sources."""
    return pd.read_csv(DATA / "measured_tg.csv")


def phase_x(name: str) -> float | None:
    """Li2S mole fraction x of a shipped phase when it is a Li2S-P2S5 compound, else None
    (x Li2S + (1 - x) P2S5: Li 2x, P 2(1 - x), S x + 5(1 - x))."""
    count = Formula(PHASES[name].formula).count()
    if set(count) - {"Li", "P", "S"}:
        return None
    li, p, s = (count.get(e, 0) for e in ("Li", "P", "S"))
    x = li / (li + p) if li + p else None  # Li / (Li + P) = 2x / 2
    if x is None or not np.isclose(s, (li / 2) + 5 * (p / 2), rtol=1e-6):
        return None
    return float(x)


def crystal_phases(composition: dict) -> list[str]:
    """Shipped crystal phases of the same composition as a campaign composition entry
    (Li2S fraction ``x``; none for oxysulfides, halides or a composition given as a crystal
    file, whose own relaxation is its crystal density)."""
    if composition.get("structure") or "x" not in composition:
        return []
    if composition.get("oxygen_fraction", 0) or composition.get("halide_fraction", 0):
        return []
    x = float(composition["x"])
    return [n for n in PHASES if (px := phase_x(n)) is not None and abs(px - x) < X_TOL]


def campaign_phases(compositions: list[dict]) -> list[str]:
    """Every shipped phase that some composition of the campaign matches (each once)."""
    return sorted({p for c in compositions for p in crystal_phases(c)})


def _first(measured: pd.DataFrame, **match) -> pd.Series | None:
    rows = measured
    for key, value in match.items():
        if key == "x_li2s":
            rows = rows[np.isclose(rows["x_li2s"].astype(float), value, atol=X_TOL)]
        else:
            rows = rows[rows[key] == value]
    return rows.iloc[0] if len(rows) else None


def glass_summary(densities: list[dict]) -> dict:
    """Replica mean, standard deviation (ddof 1) and values of the NPT densities (g/cm^3)
    of one composition's glasses; replicas whose NPT failed are left out and counted."""
    ok = [d for d in densities if not d.get("npt_failed")]
    # the NPT average after the anneal, or the annealed glass's density without one
    values = np.array([d.get("npt_density_g_cm3", d.get("density_g_cm3")) for d in ok], float)
    return {
        "density_g_cm3": float(values.mean()) if len(values) else float("nan"),
        "density_std_g_cm3": float(values.std(ddof=1)) if len(values) > 1 else float("nan"),
        "replica_densities_g_cm3": values.tolist(),
        "n_replicas": int(len(values)),
        "n_npt_failed": int(len(densities) - len(ok)),
    }


def density_comparison(
    compositions: list[dict],
    glass_densities: list[dict],
    crystal_runs: list[dict],
    measured: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per composition (its glasses) and per shipped crystal run: the model's density
    (g/cm^3; glasses: replica mean and spread), what it is compared with (``compared_with``:
    ``measured glass``, ``measured crystal of the same composition`` or ``none``), that value
    and its source, and model / reference. Glass rows also give the model's own crystal
    density of the same composition (glass / model crystal: the model's glass-to-crystal
    ratio, independent of its equation-of-state error).

    ``glass_densities``: the ``density.json`` of every replica; ``crystal_runs``: the
    ``density.json`` of ``run_crystal_npt`` (``phase``, ``npt_density_g_cm3``, ...).
    """
    measured = measured_densities() if measured is None else measured
    model_crystal = {
        r["phase"]: r.get("npt_density_g_cm3", float("nan"))
        for r in crystal_runs
        if not r.get("npt_failed")
    }
    rows = []
    for comp in compositions:
        name = comp["name"]
        own = [d for d in glass_densities if d.get("composition") == name]
        if not own:
            continue
        summary = glass_summary(own)
        kind = own[0].get("kind", "glass")
        phases = crystal_phases(comp)
        ref, compared = None, "none"
        if kind == "crystal":  # a composition given as a crystal file: its phase by file name
            stem = Path(str(comp.get("structure", ""))).stem
            ref = _first(measured, material=stem, state="crystal")
            compared = "measured crystal (same phase)" if ref is not None else "none"
        elif comp.get("oxygen_fraction") or comp.get("halide_fraction"):
            pass  # no binary Li2S-P2S5 reference applies
        else:
            ref = _first(measured, x_li2s=float(comp["x"]), state="glass")
            if ref is not None:
                compared = "measured glass"
            else:
                for phase in phases:
                    ref = _first(measured, material=phase, state="crystal")
                    if ref is not None:
                        compared = "measured crystal of the same composition"
                        break
        crystal_model = next((model_crystal[p] for p in phases if p in model_crystal), np.nan)
        value = float(ref["density_g_cm3"]) if ref is not None else float("nan")
        rows.append(
            {
                "composition": name,
                "kind": kind,
                "model_density_g_cm3": summary["density_g_cm3"],
                "model_density_std_g_cm3": summary["density_std_g_cm3"],
                "n_replicas": summary["n_replicas"],
                "n_npt_failed": summary["n_npt_failed"],
                "compared_with": compared,
                "reference_material": ref["material"] if ref is not None else "",
                "reference_density_g_cm3": value,
                "model_over_reference": summary["density_g_cm3"] / value,
                "model_crystal_density_g_cm3": crystal_model,
                "glass_over_model_crystal": summary["density_g_cm3"] / crystal_model
                if kind == "glass"
                else np.nan,
                "reference": ref["reference"] if ref is not None else "",
            }
        )
    for run in crystal_runs:
        ref = _first(measured, material=run["phase"], state="crystal")
        value = float(ref["density_g_cm3"]) if ref is not None else float("nan")
        model = float("nan") if run.get("npt_failed") else run.get("npt_density_g_cm3", np.nan)
        rows.append(
            {
                "composition": run["phase"],
                "kind": "shipped crystal",
                "model_density_g_cm3": model,
                "model_density_std_g_cm3": run.get("npt_density_std_g_cm3", np.nan),
                "n_replicas": 1,
                "n_npt_failed": int(bool(run.get("npt_failed"))),
                "compared_with": "measured crystal (same phase)" if ref is not None else "none",
                "reference_material": ref["material"] if ref is not None else "",
                "reference_density_g_cm3": value,
                "model_over_reference": model / value,
                "model_crystal_density_g_cm3": model,
                "glass_over_model_crystal": np.nan,
                "reference": ref["reference"] if ref is not None else "",
            }
        )
    return pd.DataFrame(rows)


def quench_rate_table(glasses: list[dict], tgs: list[dict]) -> pd.DataFrame:
    """Quench-rate sensitivity: per composition and quench rate (K/ps), the glasses' density
    (replica mean and spread, g/cm^3) and the model's Tg (K) with its error. ``glasses``: the
    ``density.json`` of every glass (with ``quench_rate_K_ps``); ``tgs``: the ``tg.json`` of
    every composition and rate."""
    tg_of = {(t["composition"], t.get("quench_rate_K_ps")): t for t in tgs}
    groups: dict = {}
    for g in glasses:
        if g.get("kind") == "crystal":
            continue
        groups.setdefault((g["composition"], g.get("quench_rate_K_ps")), []).append(g)
    rows = []
    for (comp, rate), members in sorted(
        groups.items(), key=lambda kv: (kv[0][0], -(kv[0][1] or 0))
    ):
        tg = tg_of.get((comp, rate), {})
        summary = glass_summary(members)
        summary.pop("replica_densities_g_cm3")
        rows.append(
            {
                "composition": comp,
                "quench_rate_K_ps": rate,
                **{
                    k: v
                    for k, v in glass_summary(members).items()
                    if k != "replica_densities_g_cm3"
                },
                "tg_K": tg.get("tg_K", float("nan")),
                "tg_err_K": tg.get("tg_err_K", float("nan")),
            }
        )
    return pd.DataFrame(rows)


def quench_rate_sigma(runs: list[tuple[float, dict]]) -> pd.DataFrame:
    """Quench-rate sensitivity of transport: per composition, quench rate (K/ps) and
    temperature (K), the replica mean and spread (ddof 1) of the tracer sigma (S/cm) and D
    (cm^2/s) over the diffusive runs, and how many runs were diffusive. ``runs``: (rate,
    ``transport.json``) of every run."""
    groups: dict = {}
    for rate, t in runs:
        key = (t["composition"], float(rate), float(t["temperature_K"]))
        groups.setdefault(key, []).append(t)
    rows = []
    for (comp, rate, temp), members in sorted(groups.items()):
        ok = [m for m in members if m.get("diffusive") and np.isfinite(m.get("sigma_S_cm", np.nan))]
        sigma = np.array([m["sigma_S_cm"] for m in ok], float)
        d = np.array([m["D_cm2_s"] for m in ok], float)
        rows.append(
            {
                "composition": comp,
                "quench_rate_K_ps": rate,
                "temperature_K": temp,
                "sigma_S_cm": float(sigma.mean()) if len(sigma) else float("nan"),
                "sigma_std_S_cm": float(sigma.std(ddof=1)) if len(sigma) > 1 else float("nan"),
                "D_cm2_s": float(d.mean()) if len(d) else float("nan"),
                "D_std_cm2_s": float(d.std(ddof=1)) if len(d) > 1 else float("nan"),
                "n_diffusive": len(ok),
                "n_runs": len(members),
            }
        )
    columns = ["composition", "quench_rate_K_ps", "temperature_K", "sigma_S_cm"]
    columns += ["sigma_std_S_cm", "D_cm2_s", "D_std_cm2_s", "n_diffusive", "n_runs"]
    return pd.DataFrame(rows, columns=columns)
