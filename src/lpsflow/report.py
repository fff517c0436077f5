"""The campaign report: one self-contained HTML page (figures embedded as PNG, no network).

Figures are drawn with matplotlib (Agg) and embedded as base64; the page comes from the
Jinja2 template ``templates/report.html.j2``; tables are pandas' HTML, each in a
``div.table-wrap`` that keeps it within the page (headers wrap; a table still wider scrolls
inside its box). Error bars of positive quantities are log-normal 95 % intervals
(:func:`lpsflow.transport.positive_errorbars`), those of fractions are clipped to [0, 1]
(:func:`lpsflow.transport.fraction_errorbars`). :func:`report_problems` checks the rendered
page: no interval of a positive quantity below zero, fractions within [0, 1], a run needed
longer than every run called not diffusive, every table wrapped.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

#: every report figure lays its panels out so that axis labels never overlap a neighbour
plt.rcParams["figure.constrained_layout.use"] = True
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from jinja2 import Environment, PackageLoader, select_autoescape  # noqa: E402

from lpsflow.li_environment import environment_report  # noqa: E402
from lpsflow.teacher import pooled_ratio  # noqa: E402
from lpsflow.transport import Z95, fraction_errorbars, positive_errorbars  # noqa: E402


def figure_png(fig) -> str:
    """A matplotlib figure as a data URI (and closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


#: leading columns that identify a row; repeated in every part of a split table
KEY_COLUMNS = ("composition", "replica", "temperature_K", "T (K)", "iteration", "quantity")
#: a table with more columns is split into parts of at most this many (keys included)
MAX_COLUMNS = 12


def table_html(df: pd.DataFrame, floatfmt: str = "{:.4g}", max_columns: int = MAX_COLUMNS) -> str:
    """``df`` as HTML that fits the page: each table in a ``div.table-wrap`` (the page never
    widens: what is still too wide scrolls in its box), headers that wrap at underscores,
    numbers that do not break, and a table of more than ``max_columns`` columns split into
    parts of the same rows, each repeating the leading key columns (:data:`KEY_COLUMNS`) and
    marked ``data-split`` (id), ``data-part`` (k/n) and ``data-keys`` (how many key columns)
    so that :func:`report_problems` reads the parts as one table."""
    if df is None or df.empty:
        return "<p class='muted'>none</p>"
    keys = []
    for col in df.columns:
        if col not in KEY_COLUMNS or len(keys) >= 3:
            break
        keys.append(col)
    rest = [c for c in df.columns if c not in keys]
    per = max(max_columns - len(keys), 1)
    groups = [rest[i : i + per] for i in range(0, len(rest), per)] or [[]]
    split = hashlib.sha256(df.to_csv().encode()).hexdigest()[:10]
    parts = []
    for k, group in enumerate(groups):
        table = df[keys + group].to_html(
            index=False, classes="table", float_format=floatfmt.format, na_rep="–", border=0
        )
        table = re.sub(
            r"(<th[^>]*>)([^<]*)(</th>)",
            lambda m: m[1] + m[2].replace("_", "_<wbr>") + m[3],
            table,
        )
        table = re.sub(r"<td>([^<\s]*)</td>", r'<td class="n">\1</td>', table)
        if len(groups) > 1:
            mark = f'data-split="{split}" data-part="{k + 1}/{len(groups)}" data-keys="{len(keys)}"'
            table = table.replace("<table ", f"<table {mark} ", 1)
        parts.append(f'<div class="table-wrap">{table}</div>')
    return "\n".join(parts)


def experimental_references() -> pd.DataFrame:
    return pd.read_csv(Path(__file__).with_name("data") / "experimental.csv")


def software_versions(store: str | Path, lammps_logs: list[Path]) -> dict:
    out = {}
    for pkg in ("lpsflow", "deepmd-kit", "dpdata", "cp2kdata", "ase", "MDAnalysis", "snakemake"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    for output in sorted(Path(store).glob("entries/*/*/attempt_0/cp2k.out"))[:1]:
        for line in output.read_text(errors="replace").splitlines():
            if "CP2K| version string:" in line:
                out["CP2K"] = line.split(":", 1)[1].strip()
                break
    for log in lammps_logs[:1]:
        if log.exists():
            out["LAMMPS"] = log.read_text(errors="replace").splitlines()[0].strip()
    return out


def stage_times(bench_root: str | Path = "benchmarks") -> pd.DataFrame:
    """Wall and CPU hours per stage from Snakemake's benchmark files."""
    rows = []
    for tsv in Path(bench_root).rglob("*.tsv"):
        parts = tsv.relative_to(bench_root).parts
        stage = parts[1] if parts[0].startswith("iter_") else parts[0]
        if parts[0] == "label":
            stage = "label (initial)"
        bench = pd.read_csv(tsv, sep="\t")
        cpu = pd.to_numeric(bench.get("cpu_time", pd.Series([np.nan])), errors="coerce")
        rows.append({"stage": stage, "wall_h": bench["s"].sum() / 3600, "cpu_h": cpu.sum() / 3600})
    if not rows:
        return pd.DataFrame(columns=["stage", "jobs", "wall_h", "cpu_h"])
    df = pd.DataFrame(rows)
    out = df.groupby("stage").agg(
        jobs=("wall_h", "size"), wall_h=("wall_h", "sum"), cpu_h=("cpu_h", "sum")
    )
    return out.reset_index()


def plot_iterations(it: pd.DataFrame) -> dict:
    figs = {}
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for comp, g in it.groupby("composition"):
        axes[0].plot(g["iteration"], g["accurate_ratio"], "o-", label=f"{comp} accurate")
        axes[0].plot(g["iteration"], g["candidate_ratio"], "s--", label=f"{comp} candidate")
        axes[1].plot(g["iteration"], g["n_train"] + g["n_test"], "o-", label=comp)
        axes[2].plot(g["iteration"], g["test_rmse_f"], "o-", label=f"{comp} force (eV/Å)")
        axes[2].plot(
            g["iteration"], g["test_rmse_e"] * 10, "s--", label=f"{comp} energy ×10 (eV/atom)"
        )
    axes[0].set(xlabel="iteration", ylabel="fraction of explored frames", title="selection ratios")
    axes[1].set(xlabel="iteration", ylabel="labelled frames", title="training + test data")
    axes[2].set(xlabel="iteration", ylabel="RMSE", title="held-out test RMSE (mean of members)")
    for ax in axes:
        ax.legend(fontsize=7)
        ax.xaxis.get_major_locator().set_params(integer=True)
    figs["iterations"] = figure_png(fig)
    return figs


def plot_deviation(frames: list[pd.DataFrame], trust_lo: float, trust_hi: float) -> str:
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for i, f in enumerate(frames):
        devi = f["max_devi_f"].to_numpy(float)
        devi = devi[np.isfinite(devi) & (devi > 0)]
        if len(devi):
            bins = np.logspace(np.log10(devi.min()), np.log10(devi.max()) + 1e-9, 40)
            ax.hist(devi, bins=bins, histtype="step", label=f"iteration {i}")
    for level in (trust_lo, trust_hi):
        ax.axvline(level, color="k", ls=":")
    ax.set(
        xscale="log",
        xlabel="max force deviation (eV/Å)",
        ylabel="frames",
        title="model deviation of explored frames",
    )
    ax.legend(fontsize=7)
    return figure_png(fig)


def plot_parity(parity: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    stats = []
    for ax, (q, label) in zip(
        axes,
        [("energy_eV_atom", "energy (eV/atom)"), ("force_eV_A", "force component (eV/Å)")],
        strict=True,
    ):
        for split, marker in (("train", "."), ("test", "o")):
            d = parity[(parity["quantity"] == q) & (parity["split"] == split)]
            if d.empty:
                continue
            ax.scatter(
                d["dft"],
                d["dp"],
                s=8 if split == "test" else 3,
                marker=marker,
                alpha=0.6,
                label=split,
            )
            stats.append(
                {
                    "quantity": label,
                    "set": split,
                    "points": len(d),
                    "rmse": float(np.sqrt(np.mean((d["dp"] - d["dft"]) ** 2))),
                }
            )
        lims = ax.get_xlim()
        ax.plot(lims, lims, "k-", lw=0.8)
        ax.set(xlabel=f"DFT {label}", ylabel=f"DP {label}")
        ax.legend(fontsize=7)
    return figure_png(fig), pd.DataFrame(stats)


def plot_rdfs(structures: dict) -> str:
    pairs = ["P-S", "Li-S", "Li-Li", "S-S"]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
    for comp, s in structures.items():
        for ax, pair in zip(axes, pairs, strict=True):
            ax.plot(s["rdf"][pair]["r"], s["rdf"][pair]["g"], label=comp)
            ax.set(title=pair, xlabel="r (Å)", ylabel="g(r)")
    axes[0].legend(fontsize=7)
    return figure_png(fig)


def plot_msd(msd: dict) -> str:
    """Mean Li MSD of every run; ``msd`` maps (composition, replica, temperature) to a table."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for (comp, replica, temp), df in sorted(msd.items()):
        ax.plot(df["lag_ps"], df["msd_A2"], label=f"{comp} r{replica} {temp} K", lw=0.9)
    ax.set(xlabel="lag time (ps)", ylabel="Li MSD (Å²)", title="Li mean squared displacement")
    ax.legend(fontsize=6, ncol=3)
    return figure_png(fig)


def run_key(run) -> tuple[str, str, str]:
    """(composition, replica, temperature) of a transport run (a dict or a table row with
    composition, replica and temperature_K), as the MSD curves are keyed."""
    return run["composition"], str(int(run["replica"])), f"{float(run['temperature_K']):g}"


def plot_not_diffusive(msd: dict, runs: pd.DataFrame, window: list, msd_min: float) -> str | None:
    """Log-log MSD of the runs flagged not diffusive, with the fit window and the MSD threshold."""
    bad = runs[~runs["diffusive"].astype(bool)]
    if bad.empty:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for _, run in bad.iterrows():
        key = run_key(run)
        df = msd.get(key)
        if df is None:
            continue
        ok = df["lag_ps"] > 0
        ax.loglog(
            df.loc[ok, "lag_ps"], df.loc[ok, "msd_A2"], label=f"{key[0]} r{key[1]} {key[2]} K"
        )
        ax.axvspan(run["fit_start_ps"], run["fit_end_ps"], color="0.9", zorder=0)
    ax.axhline(msd_min, color="k", ls=":", label=f"{msd_min:g} Å² (diffusive threshold)")
    t = np.logspace(-2, 0, 2) * ax.get_xlim()[1]
    ax.plot(t, t / t[-1] * msd_min, "k--", lw=0.7, label="slope 1")
    ax.set(
        xlabel="lag time (ps)",
        ylabel="Li MSD (Å²)",
        title=f"runs not diffusive (grey: fit window {window[0]}-{window[1]} of the run)",
    )
    ax.legend(fontsize=6)
    return figure_png(fig)


REFERENCE_STATES = ("glass", "glass-ceramic", "crystal")
COMPOSITION_TOL = 0.01  # |x_exp - x_sim| at which a reference counts as the same composition
ROOM_TEMPERATURE_K = 298.15  # where a reference given only at "room temperature" is drawn


def select_references(
    exp: pd.DataFrame,
    compositions: list[dict],
    states: tuple[str, ...] = ("glass",),
    atol: float = COMPOSITION_TOL,
) -> pd.DataFrame:
    """Experimental rows in one of ``states`` whose Li2S fraction lies within ``atol`` of a
    simulated amorphous composition's ``x``; adds the matching ``composition`` name and a
    ``comparison`` label (``glass vs glass``, ``glass vs glass-ceramic``, ...).

    A composition without ``x`` (a crystal file) or with oxygen or halide substitution is
    compared with nothing (the table holds binary Li2S-P2S5 values only).
    """
    rows = []
    for comp in compositions:
        if "x" not in comp or comp.get("oxygen_fraction", 0) or comp.get("halide_fraction", 0):
            continue
        near = (exp["x_li2s"].astype(float) - float(comp["x"])).abs() <= atol + 1e-9
        same = exp[exp["state"].isin(states) & near]
        rows.append(same.assign(composition=comp["name"], comparison="glass vs " + same["state"]))
    if not rows:
        return exp.iloc[0:0].assign(composition=[], comparison=[])
    return pd.concat(rows, ignore_index=True)


def comparable_references(exp: pd.DataFrame, compositions: list[dict]) -> pd.DataFrame:
    """Experimental rows comparable with the simulated glasses, like with like: glass state,
    same Li2S fraction (within :data:`COMPOSITION_TOL`)."""
    return select_references(exp, compositions, states=("glass",))


def experiment_comparison(refs: pd.DataFrame, arr: pd.DataFrame) -> pd.DataFrame:
    """The references matched to a simulated composition (:func:`select_references`) beside
    that composition's simulated sigma(298 K) and Ea; glass vs glass rows first."""
    cols = ["composition", "comparison", "material", "x_li2s", "temperature", "sigma_rt_S_cm"]
    out = refs[[c for c in [*cols, "Ea_eV"] if c in refs]].copy()
    sim = arr.set_index("composition") if "composition" in arr else pd.DataFrame()
    for col, name in (
        ("sigma_ref_S_cm", "simulated sigma(298 K) S/cm"),
        ("Ea_eV", "simulated Ea_eV"),
    ):
        out[name] = out["composition"].map(sim[col]) if col in sim else np.nan
    if "reference" in refs:
        out["reference"] = refs["reference"]
    later = out["comparison"] != "glass vs glass"
    return (
        out.assign(_later=later)
        .sort_values(["composition", "_later"], kind="stable")
        .drop(columns="_later")
    )


REFERENCE_MARKERS = {
    "glass": {"marker": "*", "color": "k", "ms": 10},
    "glass-ceramic": {"marker": "D", "color": "0.4", "mfc": "none", "ms": 6},
    "crystal": {"marker": "x", "color": "0.4", "ms": 6},
}
REFERENCE_LABELS = {
    "glass": "experiment, glass, same x (glass vs glass)",
    "glass-ceramic": "experiment, glass-ceramic, same x (context only)",
    "crystal": "experiment, crystal, same x (context only)",
}


def plot_arrhenius(cond: pd.DataFrame, arr: pd.DataFrame, exp: pd.DataFrame) -> str:
    """Tracer (circles) and collective (squares) sigma per composition; open: not fitted.

    With a model Tg (``regime`` column), points above it (the melt) are triangles with their
    own dotted fit over their own temperatures, the glass fit (dashed, extrapolated to 298 K)
    uses the points below it, and a vertical line marks Tg; the two laws are never joined.
    Error bars: log-normal 95 % intervals (never below zero).
    ``exp`` holds only references of a simulated composition's Li2S fraction
    (:func:`select_references`), drawn at their temperature (298 K when given as room
    temperature): glass references as filled black stars (glass vs glass), glass-ceramic
    ones as open grey diamonds (context only: their superionic crystals conduct better).
    """
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    fitted_col = cond["fitted"] if "fitted" in cond else pd.Series(True, index=cond.index)
    regime_col = cond["regime"] if "regime" in cond else pd.Series("unknown", index=cond.index)
    for comp, g in cond.groupby("composition"):
        fitted = fitted_col.loc[g.index].astype(bool)
        melt = regime_col.loc[g.index] == "above_tg"
        ok = g["sigma_S_cm"] > 0
        x = 1000.0 / g["temperature_K"]
        sel = ok & fitted & ~melt
        line = ax.errorbar(
            x[sel],
            g.loc[sel, "sigma_S_cm"],
            yerr=positive_errorbars(g.loc[sel, "sigma_S_cm"], g.loc[sel, "sigma_err_S_cm"], Z95),
            fmt="o",
            label=f"{comp} tracer" + (" (below Tg)" if melt.any() else ""),
        )
        color = line[0].get_color()
        sel = ok & fitted & melt
        if sel.any():
            ax.errorbar(
                x[sel],
                g.loc[sel, "sigma_S_cm"],
                yerr=positive_errorbars(
                    g.loc[sel, "sigma_S_cm"], g.loc[sel, "sigma_err_S_cm"], Z95
                ),
                fmt="^",
                color=color,
                label=f"{comp} tracer, above Tg (melt)",
            )
        ax.plot(x[ok & ~fitted], g.loc[ok & ~fitted, "sigma_S_cm"], "o", mfc="none", color=color)
        if "sigma_collective_S_cm" in g:
            okc = (g["sigma_collective_S_cm"] > 0) & fitted
            for part, marker, label in (
                (~melt, "s", "collective"),
                (melt, "v", "collective, melt"),
            ):
                sel = okc & part
                if not sel.any():
                    continue
                ax.errorbar(
                    x[sel],
                    g.loc[sel, "sigma_collective_S_cm"],
                    yerr=positive_errorbars(
                        g.loc[sel, "sigma_collective_S_cm"],
                        g.loc[sel, "sigma_collective_err_S_cm"],
                        Z95,
                    ),
                    fmt=marker,
                    color=color,
                    alpha=0.6,
                    label=f"{comp} {label}",
                )
        fit = arr[arr["composition"] == comp]
        if fit.empty:
            continue
        fit = fit.iloc[0]
        glass_t = g.loc[~melt, "temperature_K"]
        if np.isfinite(fit.get("slope", np.nan)) and len(glass_t):
            t = np.linspace(298.15, glass_t.max(), 50)
            ax.plot(1000.0 / t, np.exp(fit["intercept"] + fit["slope"] / t) / t, "--", color=color)
        melt_t = g.loc[melt & fitted, "temperature_K"]
        if np.isfinite(fit.get("melt_slope", np.nan)) and len(melt_t):
            t = np.linspace(melt_t.min(), melt_t.max(), 20)
            s = np.exp(fit["melt_intercept"] + fit["melt_slope"] / t) / t
            ax.plot(1000.0 / t, s, ":", color=color)
        if np.isfinite(fit.get("tg_K", np.nan)):
            ax.axvline(1000.0 / fit["tg_K"], color=color, lw=0.8, ls="-.", label=f"{comp} model Tg")
    drawn = set()
    for _, ref in exp.iterrows():
        state = ref.get("state", "glass")
        marker = REFERENCE_MARKERS.get(state, REFERENCE_MARKERS["crystal"])
        t_ref = ref.get("temperature_K", np.nan)
        t_ref = float(t_ref) if pd.notna(t_ref) else ROOM_TEMPERATURE_K
        label = None if state in drawn else REFERENCE_LABELS.get(state, f"experiment: {state}")
        drawn.add(state)
        ax.plot(1000.0 / t_ref, ref["sigma_rt_S_cm"], linestyle="none", label=label, **marker)
        ax.annotate(
            f"{ref['composition']}: " + ref["reference"].split(",")[0],
            (1000.0 / t_ref, ref["sigma_rt_S_cm"]),
            fontsize=6,
            xytext=(4, 0),
            textcoords="offset points",
        )
    ax.set(
        yscale="log",
        xlabel="1000 / T (1/K)",
        ylabel="σ (S/cm)",
        title="Arrhenius plot (open: not fitted; 95 % bars); experiments of the same x only",
    )
    ax.legend(fontsize=7)
    return figure_png(fig)


def _optional(inp, key: str):
    """Named input ``key``, or None when the workflow did not give it."""
    try:
        return inp[key]
    except (KeyError, AttributeError, IndexError, TypeError):
        return None


# ---- Li environments (lpsflow.li_environment, issue 23) ----
def environment_section(inp) -> dict | None:
    """Mobility per Li environment and unit stability over the runs, or None without them."""
    mobility, units = _optional(inp, "environment_mobility"), _optional(inp, "environment_units")
    if mobility is None or units is None:
        return None
    rep = environment_report(pd.read_csv(mobility), pd.read_csv(units))
    return {
        "mobility": table_html(rep["mobility"]),
        "units": table_html(rep["units"]),
        "changed": rep["changed"],
        "fig": figure_png(rep["figure"]) if rep["figure"] is not None else None,
    }


def plot_teacher_rdfs(dp: dict, teacher: dict) -> str:
    """Partial RDFs of each DP glass (solid) and of the same glass after the teacher's run
    at the lowest temperature (dashed)."""
    pairs = ["P-S", "Li-S", "Li-Li", "S-S"]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
    for comp, s in dp.items():
        for ax, pair in zip(axes, pairs, strict=True):
            line = ax.plot(s["rdf"][pair]["r"], s["rdf"][pair]["g"], label=f"{comp} DP")
            if comp in teacher:
                t = teacher[comp]["rdf"][pair]
                ax.plot(t["r"], t["g"], "--", color=line[0].get_color(), label=f"{comp} teacher")
            ax.set(title=pair, xlabel="r (Å)", ylabel="g(r)")
    axes[0].legend(fontsize=7)
    return figure_png(fig)


def measured_densities() -> pd.DataFrame:
    """Measured glass densities we verified against their source (may be empty)."""
    return pd.read_csv(Path(__file__).with_name("data") / "measured_density.csv")


def composition_x(sample_paths: list[str], compositions: list[str]) -> dict:
    """Li2S mole fraction x of each composition (a sampled cell of each, in order): the
    realised x of a generated cell, or Li / (Li + P) of a crystal (x of a Li2S-P2S5
    composition)."""
    from ase.io import read

    out = {}
    for path, comp in zip(sample_paths, compositions, strict=True):
        atoms = read(path)
        sym = atoms.get_chemical_symbols()
        n_li, n_p = sym.count("Li"), sym.count("P")
        out[comp] = float(atoms.info.get("x_realised", n_li / max(n_li + n_p, 1)))
    return out


def density_table(
    densities: list[dict], npt: list[dict], config: dict, measured: pd.DataFrame
) -> pd.DataFrame:
    """Per composition: kind, packing (start) density, the model's NPT density at
    ``quench_to`` (mean and standard deviation), the NPT density at each transport
    temperature, and a verified measured density when one matches (g/cm3)."""
    packing = {c["name"]: c.get("density") for c in config["compositions"]}
    rows = []
    for d in densities:
        comp = d["composition"]
        row = {
            "composition": comp,
            "kind": d.get("kind", "glass"),
            "packing density": packing.get(comp) if d.get("kind") != "crystal" else None,
            "start density": d.get("start_density_g_cm3"),
            f"NPT density at {d.get('temperature_K', '')} K": d.get("npt_density_g_cm3"),
            "± (std)": d.get("npt_density_std_g_cm3"),
        }
        for run in sorted(
            (r for r in npt if r["composition"] == comp), key=lambda r: r["temperature_K"]
        ):
            row[f"{run['temperature_K']:g} K"] = run.get("npt_density_g_cm3")
        # measured values are keyed by material now: the glass-stage table compares them
        # (lpsflow.glass_density.density_comparison, results/production/density.csv)
        keyed = "composition" in measured and len(measured)
        match = measured[measured["composition"] == comp] if keyed else measured.iloc[0:0]
        row["measured (verified)"] = (
            f"{match['density_g_cm3'].iloc[0]:g} ({match['reference'].iloc[0]})"
            if len(match)
            else None
        )
        if d.get("npt_failed"):
            row["note"] = "NPT failed (box guard): packing density kept, not a result"
        rows.append(row)
    return pd.DataFrame(rows)


def glass_stage_tables(inp) -> dict:
    """HTML of the glass stage's tables (summarize_glasses): glass and crystal densities
    against experiment, the model's Tg beside measured values, the quench-rate sensitivity
    (only with more than one rate); None where the campaign has no such input."""

    def read(key):
        path = inp.get(key) if hasattr(inp, "get") else None
        return pd.read_csv(path) if path and Path(path).exists() else None

    density, tg, rates = read("glass_density"), read("glass_tg"), read("quench_rates")
    sigma = read("quench_rates_sigma")
    several = rates is not None and rates["quench_rate_K_ps"].nunique() > 1
    return {
        "glass_density": table_html(density) if density is not None else None,
        "glass_tg": table_html(tg) if tg is not None else None,
        "quench_rates": table_html(rates) if several else None,
        "quench_rates_sigma": table_html(sigma) if sigma is not None and len(sigma) else None,
    }


def structure_runs_table(runs: list[dict], kinds: dict) -> pd.DataFrame:
    """Structure averaged over each transport run: fraction of P per unit type, S classes,
    Li-S coordination by S class, change of the units (first vs last third) and the P RMS
    displacement (angstrom); a verdict that says when a crystal melted or amorphised."""
    rows = []
    for r in sorted(runs, key=lambda r: (r["composition"], r["temperature_K"])):
        kind = kinds.get(r["composition"], "glass")
        if kind == "crystal":
            verdict = (
                "crystal melted or amorphised" if r["framework_flowed"] else "stays crystalline"
            )
        else:
            verdict = "P framework flows (liquid-like)" if r["framework_flowed"] else "glass"
        if r["units_changed"]:
            verdict += "; units changed over the run"
        rows.append(
            {
                "composition": r["composition"],
                "kind": kind,
                "T (K)": r["temperature_K"],
                "frames": r["n_frames"],
                **{f"P in {k}": v for k, v in r["p_fraction"].items()},
                "S bridging": r["s_fraction"]["bridging"],
                "S free": r["s_fraction"]["free"],
                "Li-S terminal": r["li_s"]["terminal"],
                "Li-S bridging": r["li_s"]["bridging"],
                "Li-S total": r["li_s"]["total"],
                "unit change": r["unit_change"],
                "P switched": r["p_switched_fraction"],
                "P RMS disp. (Å)": r["p_rms_displacement_A"],
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


def plot_run_rdfs(runs: list[dict]) -> str:
    """Partial RDFs averaged over the frames of each composition's lowest-temperature run."""
    pairs = ["P-S", "Li-S", "Li-Li", "S-S"]
    lowest: dict = {}
    for r in runs:
        if r["composition"] not in lowest or r["temperature_K"] < lowest[r["composition"]][0]:
            lowest[r["composition"]] = (r["temperature_K"], r)
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
    for comp, (temp, r) in sorted(lowest.items()):
        for ax, pair in zip(axes, pairs, strict=True):
            if pair in r["rdf"]:
                ax.plot(r["rdf"][pair]["r"], r["rdf"][pair]["g"], label=f"{comp} {temp:g} K")
            ax.set(title=f"{pair} (run average)", xlabel="r (Å)", ylabel="g(r)")
    axes[0].legend(fontsize=7)
    return figure_png(fig)


def plot_teacher_arrhenius(table: pd.DataFrame, bias: pd.DataFrame | None = None) -> str:
    """Left: sigma (S/cm) of teacher (open) and DP (filled) with log-normal 95 % error bars
    (never below zero), against 1000/T. Right: each point's DP / teacher sigma ratio with its
    log-normal 95 % interval and, from ``bias`` (:func:`lpsflow.teacher.pooled_ratio`), the
    pooled ratio over all points with its 95 % interval (band)."""
    fig, (ax, axr) = plt.subplots(1, 2, figsize=(11, 4.5))
    for comp, g in table.groupby("composition"):
        x = 1000.0 / g["temperature_K"]
        dp_err = positive_errorbars(g["sigma_S_cm_dp"], g["sigma_err_S_cm_dp"], Z95)
        line = ax.errorbar(x, g["sigma_S_cm_dp"], yerr=dp_err, fmt="o", label=f"{comp} DP")
        ax.errorbar(
            x * 1.003,
            g["sigma_S_cm_teacher"],
            yerr=positive_errorbars(g["sigma_S_cm_teacher"], g["sigma_err_S_cm_teacher"], Z95),
            fmt="s",
            mfc="none",
            color=line[0].get_color(),
            label=f"{comp} teacher",
        )
        if {"sigma_ratio", "sigma_ratio_lo95", "sigma_ratio_hi95"} <= set(g):
            r = g["sigma_ratio"].to_numpy(float)
            bars = np.nan_to_num(
                np.vstack([r - g["sigma_ratio_lo95"], g["sigma_ratio_hi95"] - r]), nan=0.0
            )
            axr.errorbar(x, r, yerr=bars, fmt="o", color=line[0].get_color(), label=comp)
    if (table[["sigma_S_cm_dp", "sigma_S_cm_teacher"]] > 0).all().all():
        ax.set_yscale("log")
    ax.set(xlabel="1000 / T (1/K)", ylabel="σ (S/cm)", title="Teacher vs DP (95 % intervals)")
    ax.legend(fontsize=7)
    axr.axhline(1.0, color="k", lw=0.8)
    row = None
    if bias is not None and len(bias):
        row = bias.set_index("quantity").loc["sigma"] if "sigma" in set(bias["quantity"]) else None
    if row is not None and np.isfinite(row["pooled_ratio"]):
        lo, hi = row["pooled_ratio_lo95"], row["pooled_ratio_hi95"]
        if np.isfinite(lo) and np.isfinite(hi):
            axr.axhspan(lo, hi, color="0.85", zorder=0, label="pooled 95 % interval")
        axr.axhline(
            row["pooled_ratio"],
            color="0.3",
            ls="--",
            label=f"pooled ratio {row['pooled_ratio']:.3g} [{lo:.3g}, {hi:.3g}]",
        )
    axr.set(
        xlabel="1000 / T (1/K)",
        ylabel="σ DP / σ teacher",
        title="Bias: DP / teacher per point and pooled",
        yscale="log",
    )
    axr.legend(fontsize=7)
    return figure_png(fig)


def teacher_test_table(rmse: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread over the ensemble members of the RMSE on the fixed teacher test set,
    per iteration and composition (all teacher temperatures pooled by frame)."""
    cols = ["rmse_e", "rmse_f", "rmse_v"]
    if rmse.empty:
        return pd.DataFrame(columns=["iteration", "composition", "frames", *cols, "rmse_f_sd"])
    sq = rmse.assign(**{c: rmse[c] ** 2 * rmse["frames"] for c in cols})
    pooled = sq.groupby(["iteration", "composition", "model"], as_index=False)[
        [*cols, "frames"]
    ].sum()
    for c in cols:
        pooled[c] = np.sqrt(pooled[c] / pooled["frames"])
    out = pooled.groupby(["iteration", "composition"], as_index=False).agg(
        frames=("frames", "first"),
        rmse_e=("rmse_e", "mean"),
        rmse_f=("rmse_f", "mean"),
        rmse_f_sd=("rmse_f", "std"),
        rmse_v=("rmse_v", "mean"),
    )
    if "bias_p_GPa" in rmse:  # DP - teacher pressure: frame-weighted over temperatures
        weighted = rmse.assign(w=rmse["bias_p_GPa"] * rmse["frames"])
        member = weighted.groupby(["iteration", "composition", "model"], as_index=False)[
            ["w", "frames"]
        ].sum()
        member["bias_p_GPa"] = member["w"] / member["frames"]
        mean = member.groupby(["iteration", "composition"], as_index=False)["bias_p_GPa"].mean()
        out = out.merge(mean, on=["iteration", "composition"], how="left")
    return out


def pressure_bias_table(rmse: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """The last iteration's DP - teacher static pressure on the teacher's own frames, per
    composition and temperature (mean over members; ``bias_p_err_GPa``: the members' mean
    standard error over frames), beside the DP / teacher NPT box ratio of the same point."""
    cols = ["composition", "temperature_K", "frames", "bias_p_GPa", "bias_p_err_GPa"]
    if rmse.empty or "bias_p_GPa" not in rmse:
        return pd.DataFrame(columns=[*cols, "volume_ratio"])
    last = rmse[rmse["iteration"] == rmse["iteration"].max()]
    out = last.groupby(["composition", "temperature_K"], as_index=False).agg(
        frames=("frames", "first"),
        bias_p_GPa=("bias_p_GPa", "mean"),
        bias_p_err_GPa=("bias_p_err_GPa", "mean"),
    )
    if "volume_ratio" in comparison:
        ratio = comparison[["composition", "temperature_K", "volume_ratio"]]
        out = out.merge(ratio, on=["composition", "temperature_K"], how="left")
    return out


def plot_teacher_test(table: pd.DataFrame) -> str:
    """Force RMSE on the fixed teacher test set against the iteration (bars: member spread)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for comp, g in table.groupby("composition"):
        bars = positive_errorbars(g["rmse_f"], g["rmse_f_sd"])  # member spread, never below 0
        ax.errorbar(g["iteration"], g["rmse_f"], yerr=bars, fmt="o-", label=comp)
    ax.set(
        xlabel="iteration",
        ylabel="force RMSE (eV/Å)",
        title="fixed test set: teacher MD at the production temperatures",
    )
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7)
    return figure_png(fig)


def teacher_section(
    inp, structures: dict, arr: pd.DataFrame, config: dict, compositions: list[str]
) -> dict | None:
    """Teacher vs DP (shown when the teacher labelled the campaign), or None."""
    path = _optional(inp, "teacher_comparison")
    if path is None:
        return None
    table = pd.read_csv(path)
    t_arr = pd.read_csv(inp["teacher_arrhenius"])
    speed = pd.read_csv(inp["teacher_speed"])
    t_struct = {  # one structure per composition, in order
        comp: json.loads(Path(p).read_text())
        for p, comp in zip(inp["teacher_structure"], compositions, strict=True)
    }
    ea_cols = ["composition", "Ea_eV", "Ea_lo_eV", "Ea_hi_eV", "n_points"]
    ea = pd.merge(
        arr[[c for c in ea_cols if c in arr]],
        t_arr[[c for c in ea_cols if c in t_arr]],
        on="composition",
        how="outer",
        suffixes=("_dp", "_teacher"),
    )
    units = pd.DataFrame(
        [
            {
                "composition": c,
                "DP glass": ", ".join(
                    f"{k}: {v}" for k, v in sorted(structures.get(c, {}).get("units", {}).items())
                ),
                "after teacher MD": ", ".join(f"{k}: {v}" for k, v in sorted(s["units"].items())),
            }
            for c, s in t_struct.items()
        ]
    )
    by_engine = (
        speed.groupby("engine")
        .agg(
            runs=("run", "size"),
            n_atoms=("n_atoms", "max"),
            md_steps=("md_steps", "sum"),
            md_wall_s=("md_wall_s", "sum"),
        )
        .reset_index()
    )
    by_engine["atom_steps_per_s"] = (
        by_engine["n_atoms"] * by_engine["md_steps"] / by_engine["md_wall_s"]
    )
    show = [
        "composition",
        "temperature_K",
        "D_cm2_s_teacher",
        "D_err_cm2_s_teacher",
        "D_cm2_s_dp",
        "D_err_cm2_s_dp",
        "D_agrees",
        "D_ratio",
        "D_ratio_lo95",
        "D_ratio_hi95",
        "sigma_S_cm_teacher",
        "sigma_err_S_cm_teacher",
        "sigma_S_cm_dp",
        "sigma_err_S_cm_dp",
        "sigma_halfwidth95",
        "sigma_agrees",
        "sigma_ratio",
        "sigma_ratio_lo95",
        "sigma_ratio_hi95",
        "volume_ratio",
    ]
    bias = pooled_ratio(table)  # DP / teacher over all points (t-interval of the mean ln ratio)
    pooled = {r["quantity"]: r for r in bias.to_dict("records")}
    n_agree = int(table["sigma_agrees"].sum())
    ratio = table["volume_ratio"] if "volume_ratio" in table else pd.Series(dtype=float)
    far = ratio[(ratio - 1).abs() > 0.05]
    test_path = _optional(inp, "teacher_test")
    rmse = pd.read_csv(test_path) if test_path else None
    test = teacher_test_table(rmse) if rmse is not None else None
    eos = pressure_bias_table(rmse, table) if rmse is not None else None
    return {
        "volume_ratio": (
            f"{far.min():.2f}-{far.max():.2f}" if len(far) else None
        ),  # DP box / teacher box where they differ by more than 5 %
        "eos": table_html(eos) if eos is not None and len(eos) else None,
        "test": table_html(test) if test is not None and len(test) else None,
        "fig_test": plot_teacher_test(test) if test is not None and len(test) else None,
        "test_frames": int(test["frames"].max()) if test is not None and len(test) else 0,
        "model": config["dft"].get("physics", config["dft"]).get("model", ""),  # science()
        "table": table_html(table[[c for c in show if c in table]]),
        "bias": table_html(bias),
        "pooled": pooled,
        "all_agree": bool(len(table) and table["D_agrees"].all() and table["sigma_agrees"].all()),
        "n_agree": n_agree,
        "n_agree_d": int(table["D_agrees"].sum()),
        "n_compared": len(table),
        "disagree": ", ".join(
            f"{r.composition} {r.temperature_K:g} K"
            for r in table.itertuples()
            if not (r.D_agrees and r.sigma_agrees)
        ),
        "ea": table_html(ea),
        "fig_arrhenius": plot_teacher_arrhenius(table, bias) if len(table) else None,
        "fig_rdf": plot_teacher_rdfs(structures, t_struct) if structures else None,
        "units": table_html(units),
        "speed": table_html(by_engine),
        "speed_runs": table_html(speed),
    }


def plot_structure_property(cond: pd.DataFrame, runs: list[dict], xs: dict) -> str:
    """sigma and D against x and against the run-averaged PS4 fraction of P, one series per
    temperature; error bars: sigma and D standard errors (log-normal, never below zero), the
    PS4 fraction's spread over the run's frames clipped to [0, 1]."""
    ps4 = {(r["composition"], float(r["temperature_K"])): r for r in runs}
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for temp, g in cond.groupby("temperature_K"):
        g = g[g["composition"].isin(xs)].copy()
        g["x"] = g["composition"].map(xs)
        keys = list(zip(g["composition"], g["temperature_K"].astype(float), strict=True))
        g["ps4"] = [ps4[k]["p_fraction"]["PS4"] if k in ps4 else np.nan for k in keys]
        g["ps4_err"] = [ps4[k]["p_fraction_std"]["PS4"] if k in ps4 else np.nan for k in keys]
        g = g.sort_values("x")
        for row, (q, err) in enumerate(
            (("sigma_S_cm", "sigma_err_S_cm"), ("D_cm2_s", "D_err_cm2_s"))
        ):
            ok = g[q] > 0
            yerr = positive_errorbars(g.loc[ok, q], g.loc[ok, err])  # 1 s.e., never below 0
            axes[row, 0].errorbar(
                g.loc[ok, "x"], g.loc[ok, q], yerr=yerr, fmt="o-", label=f"{temp:g} K"
            )
            axes[row, 1].errorbar(
                g.loc[ok, "ps4"],
                g.loc[ok, q],
                xerr=fraction_errorbars(g.loc[ok, "ps4"], g.loc[ok, "ps4_err"]),  # in [0, 1]
                yerr=yerr,
                fmt="o",
                label=f"{temp:g} K",
            )
    for ax in axes.flat:
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    axes[0, 0].set(xlabel="x (Li2S mole fraction)", ylabel="σ (S/cm)", title="σ against x")
    axes[0, 1].set(
        xlabel="fraction of P in PS4 (run average)", ylabel="σ (S/cm)", title="σ against PS4"
    )
    axes[1, 0].set(xlabel="x (Li2S mole fraction)", ylabel="D (cm²/s)")
    axes[1, 1].set(xlabel="fraction of P in PS4 (run average)", ylabel="D (cm²/s)")
    return figure_png(fig)


def theory_table(path: str | Path) -> pd.DataFrame:
    """Labelled initial frames per level of theory, source (perturb, aimd, import:<name>) and
    composition (``results/init/theory.csv``)."""
    return pd.read_csv(path).sort_values(["theory", "source", "composition"])


def config_digest(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def render(context: dict, template: str = "report.html.j2") -> str:
    env = Environment(
        loader=PackageLoader("lpsflow", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    return env.get_template(template).render(**context)


def render_checked(context: dict) -> tuple[str, list[str]]:
    """The page and what :func:`report_problems` finds in it; a page with problems is
    rendered again with them listed at its top (``self_check``)."""
    html = render(context)
    problems = report_problems(html)
    if problems:
        html = render({**context, "self_check": problems})
    return html, problems


def expected_units(sample_paths: list[str], compositions: list[str]) -> dict:
    """Anion units each composition was built with (from the sampled cells' headers; a
    sampled cell of each composition, in order)."""
    from ase.io import read

    return {
        comp: read(path).info.get("units", "crystal file")
        for path, comp in zip(sample_paths, compositions, strict=True)
    }


def build_context(
    inp, science: dict, type_map: list[str], store: str, runs: list[dict], compositions: list[str]
) -> dict:
    """Everything the template shows, from the workflow's tables (``inp``: named paths).

    ``science``: the campaign's science settings (lpsflow.settings.Settings.science);
    ``inp["loop_tables"]`` lists each iteration's tables (index = iteration, written by the
    workflow); structure tables carry their composition and temperature. ``runs`` says what
    each of ``inp["msd"]`` is (composition, replica, temperature_K), ``compositions`` the
    composition of each of ``inp["samples"]`` and ``inp["teacher_structure"]``.
    """
    config = science
    iterations = pd.read_csv(inp["iterations"])
    last = int(iterations["iteration"].max())
    loop_tables = json.loads(Path(inp["loop_tables"]).read_text())
    frames = [pd.read_csv(p) for p in loop_tables["frames"]]
    labels = [pd.read_csv(p) for p in loop_tables["labels"]]
    parity = pd.read_csv(inp["parity"])
    replica_lists = {"not_diffusive_replicas": str, "untrusted_replicas": str}
    cond = pd.read_csv(inp["conductivity"], dtype=replica_lists)
    arr = pd.read_csv(inp["arrhenius"])
    exp = experimental_references()
    structures = {}
    for path in inp["structure"]:
        result = json.loads(Path(path).read_text())
        structures[result["composition"]] = result
    msd = {run_key(run): pd.read_csv(path) for path, run in zip(inp["msd"], runs, strict=True)}
    runs = pd.read_csv(inp["transport_runs"])
    comparable = comparable_references(exp, config["compositions"])
    same_x = select_references(exp, config["compositions"], ("glass", "glass-ceramic"))
    failures = [pd.read_csv(inp["init_failures"]).assign(stage="initial data")]
    for i, lab in enumerate(labels):
        failures.append(lab[lab["status"] != "ok"].assign(stage=f"iteration {i}"))
    failures = pd.concat(failures, ignore_index=True)
    dft_counts = pd.read_csv(inp["summary"])
    for i, lab in enumerate(labels):
        counts = lab.groupby("composition").agg(
            frames=("key", "size"),
            labelled=("status", lambda s: int((s == "ok").sum())),
            failed=("status", lambda s: int((s == "failed").sum())),
            engine_runs=("engine_runs", "sum"),
        )
        counts.index = [f"{c} (iteration {i})" for c in counts.index]
        dft_counts = pd.concat([dft_counts, counts.rename_axis("composition").reset_index()])
    parity_png, parity_stats = plot_parity(parity)
    final = iterations[iterations["iteration"] == last]
    statuses = sorted(set(final["status"]))
    untrusted = runs[runs["untrusted"].astype(bool)]
    units = expected_units(inp["samples"], compositions)
    speciation = pd.DataFrame(
        [
            {
                "composition": c,
                "built with": units.get(c, "–"),
                "found in production glass": ", ".join(
                    f"{k}: {v}" for k, v in sorted(s["units"].items())
                ),
            }
            for c, s in structures.items()
        ]
    )
    cond_cols = [
        "composition",
        "temperature_K",
        "regime",
        "replicas",
        "usable_replicas",
        "fitted",
        "D_cm2_s",
        "D_err_cm2_s",
        "D_lo95",
        "D_hi95",
        "sigma_S_cm",
        "sigma_err_S_cm",
        "sigma_lo95",
        "sigma_hi95",
        "sigma_collective_S_cm",
        "sigma_collective_err_S_cm",
        "sigma_collective_lo95",
        "sigma_collective_hi95",
        "haven_ratio",
        "haven_ratio_err",
        "not_diffusive_replicas",
        "untrusted_replicas",
        "run_ps",
        "collective_source",
    ]
    run_cols = [
        "composition",
        "replica",
        "temperature_K",
        "regime",
        "run_ps",
        "beta",
        "msd_window_end_A2",
        "diffusive",
        "run_needed_ps",
        "untrusted",
        "D_cm2_s",
        "D_err_cm2_s",
        "D_lo95",
        "D_hi95",
        "D_boot_err_cm2_s",
        "sigma_S_cm",
        "sigma_lo95",
        "sigma_hi95",
        "sigma_collective_S_cm",
        "haven_ratio",
        "atom_steps_per_s_per_core",
        "core_hours",
    ]
    slow = runs[~runs["diffusive"].astype(bool)]
    slow_cols = [
        "composition",
        "replica",
        "temperature_K",
        "run_ps",
        "not_diffusive_reason",
        "run_needed_ps",
        "run_factor",
        "run_needed_basis",
    ]
    arr_cols = [
        c
        for c in [
            "composition",
            "tg_K",
            "tg_err_K",
            "fitted_T_K",
            "left_out_T_K",
            "Ea_eV",
            "Ea_lo_eV",
            "Ea_hi_eV",
            "sigma_ref_S_cm",
            "sigma_ref_lo_S_cm",
            "sigma_ref_hi_S_cm",
            "n_points",
            "chi2_red",
            "collective_Ea_eV",
            "collective_sigma_ref_S_cm",
            "note",
        ]
        if c in arr
    ]
    melt_cols = [
        c
        for c in [
            "composition",
            "tg_K",
            "melt_fitted_T_K",
            "melt_Ea_eV",
            "melt_Ea_lo_eV",
            "melt_Ea_hi_eV",
            "melt_n_points",
            "melt_chi2_red",
            "collective_melt_Ea_eV",
            "melt_note",
        ]
        if c in arr
    ]
    tg_known = "tg_K" in arr and bool(np.isfinite(arr["tg_K"].astype(float)).any())
    tg_cols = [c for c in ("composition", "tg_K", "tg_err_K", "tg_method") if c in arr]
    comps = pd.DataFrame(config["compositions"])
    theory = theory_table(inp["theory"]) if "theory" in inp.keys() else None
    densities = [json.loads(Path(p).read_text()) for p in inp.get("densities", [])]
    npt = [json.loads(Path(p).read_text()) for p in inp.get("npt", [])]
    structure_runs = [json.loads(Path(p).read_text()) for p in inp.get("structure_runs", [])]
    kinds = {d["composition"]: d.get("kind", "glass") for d in densities}
    xs = composition_x(inp["samples"], compositions)
    return {
        "theory": table_html(theory) if theory is not None else None,
        "n_theories": int(theory["theory"].nunique()) if theory is not None else 0,
        "densities": table_html(density_table(densities, npt, config, measured_densities())),
        # ---- glass stage (lpsflow.glass_density, .glass_transition; summarize_glasses) ----
        **glass_stage_tables(inp),
        "structure_runs": table_html(structure_runs_table(structure_runs, kinds)),
        "crystals": sorted(c for c, k in kinds.items() if k == "crystal"),
        "melted_crystals": sorted(
            {
                f"{r['composition']} at {r['temperature_K']:g} K"
                for r in structure_runs
                if kinds.get(r["composition"]) == "crystal" and r["framework_flowed"]
            }
        ),
        "fig_structure_property": plot_structure_property(cond, structure_runs, xs)
        if structure_runs
        else None,
        "fig_run_rdf": plot_run_rdfs(structure_runs) if structure_runs else None,
        "title": "LPS force-field campaign",
        "digest": config_digest(config),
        "type_map": " ".join(type_map),
        "compositions": table_html(comps),
        "versions": software_versions(
            store, [Path(p).with_name("log.lammps") for p in inp["melt_quench"]]
        ),
        "times": table_html(stage_times()),
        "dft_counts": table_html(dft_counts),
        "n_iterations": int(last) + 1,
        "loop_status": ", ".join(statuses),
        "max_iterations": config["loop"]["max_iterations"],
        "iterations_table": table_html(iterations),
        "fig_iterations": plot_iterations(iterations)["iterations"],
        "fig_deviation": plot_deviation(
            frames, config["select"]["trust_lo"], config["select"]["trust_hi"]
        ),
        "trust": config["select"],
        "min_distance": config["train"]["min_distance"],
        "fig_parity": parity_png,
        "parity_stats": table_html(parity_stats),
        "fig_rdf": plot_rdfs(structures) if structures else None,
        "speciation": table_html(speciation),
        "fig_msd": plot_msd(msd) if msd else None,
        "fig_not_diffusive": plot_not_diffusive(
            msd, runs, config["production"]["fit_window"], config["production"]["msd_min_A2"]
        ),
        "fig_arrhenius": plot_arrhenius(cond, arr, same_x),
        "conductivity": table_html(cond[[c for c in cond_cols if c in cond]]),
        "transport_runs": table_html(runs[[c for c in run_cols if c in runs]]),
        "not_diffusive": table_html(slow[[c for c in slow_cols if c in slow]])
        if len(slow)
        else None,
        "arrhenius": table_html(arr[arr_cols]),
        "tg_known": tg_known,
        "tg_table": table_html(arr[tg_cols]) if "tg_K" in arr else None,
        "melt": table_html(arr[melt_cols]) if tg_known and "melt_Ea_eV" in arr else None,
        "experimental": table_html(exp),
        "comparable_experiments": table_html(experiment_comparison(same_x, arr)),
        "n_glass_references": len(comparable),
        "haven_ratio": config["production"]["haven_ratio"],
        "fit_window": config["production"]["fit_window"],
        "failures": table_html(failures),
        "n_failures": len(failures),
        "untrusted": table_html(
            untrusted[
                ["composition", "replica", "temperature_K", "untrusted_fraction", "max_devi_f"]
                + (["md_failure"] if "md_failure" in untrusted else [])
            ]
        )
        if len(untrusted)
        else None,
        "production": config["production"],
        "teacher": teacher_section(inp, structures, arr, config, compositions),
        "environment": environment_section(inp),
    }


# ---------------------------------------------------------------------------------- self-check
#: columns of positive quantities (D, sigma, ratios of them, the Haven ratio) whose interval
#: bounds must not be negative; a bound is a column with lo/hi in its name
POSITIVE_QUANTITY = re.compile(r"^(D_|sigma|collective_sigma|pooled_ratio|haven_ratio)")
INTERVAL_BOUND = re.compile(r"(^|_)(lo|hi)(95)?(_|$)")
#: columns that hold fractions (within [0, 1])
FRACTION = re.compile(
    r"(fraction|^P in |^S bridging$|^S free$|^accurate_ratio$|^candidate_ratio$|^failed_ratio$)"
)


class _Tables(HTMLParser):
    """Tables of a page as (header, rows of cell text, wrapped in div.table-wrap)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._divs: list[bool] = []  # open divs: is it a table-wrap
        self._table: dict | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._header = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div":
            self._divs.append("table-wrap" in (attrs.get("class") or "").split())
        elif tag == "table":
            self._table = {"header": [], "rows": [], "wrapped": any(self._divs)}
            self._table["split"] = attrs.get("data-split")
            self._table["keys"] = int(attrs.get("data-keys") or 0)
        elif tag == "tr" and self._table is not None:
            self._row, self._header = [], False
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._header = self._header or tag == "th"

    def handle_endtag(self, tag):
        if tag == "div" and self._divs:
            self._divs.pop()
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._header and not self._table["header"]:
                self._table["header"] = self._row
            elif self._row:
                self._table["rows"].append(self._row)
            self._row = None
        elif tag == "table" and self._table is not None:
            self.tables.append(self._table)
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def joined(self) -> list[dict]:
        """The tables, the parts of a split table (``data-split``) joined side by side."""
        out: list[dict] = []
        first: dict[str, dict] = {}
        for table in self.tables:
            split = table["split"]
            if split is None or split not in first:
                whole = {**table, "rows": [list(r) for r in table["rows"]]}
                out.append(whole)
                if split is not None:
                    first[split] = whole
                continue
            whole, n = first[split], table["keys"]
            whole["header"] = whole["header"] + table["header"][n:]
            whole["rows"] = [a + b[n:] for a, b in zip(whole["rows"], table["rows"], strict=False)]
            whole["wrapped"] = whole["wrapped"] and table["wrapped"]
        return out


def _number(text: str) -> float:
    try:
        return float(text.replace("−", "-"))
    except ValueError:
        return float("nan")


def report_problems(html: str) -> list[str]:
    """What the rendered report gets wrong about itself (empty when nothing).

    Checks every table of ``html``: no bound of an interval of a positive quantity (columns
    :data:`POSITIVE_QUANTITY` with lo/hi in the name) below zero; every fraction (columns
    :data:`FRACTION`) within [0, 1]; ``run_needed_ps`` > ``run_ps`` in every row of a run
    called not diffusive (``diffusive`` False, or a ``not_diffusive_reason``); every table
    inside a ``div.table-wrap`` (so that a table wider than the page reflows or scrolls in its
    box instead of widening the page).
    """
    parser = _Tables()
    parser.feed(html)
    problems = []
    for i, table in enumerate(parser.joined()):
        header = table["header"]
        name = f"table {i + 1} ({', '.join(header[:3])}...)"
        if not table["wrapped"]:
            problems.append(f"{name}: not in a div.table-wrap (would widen the page)")
        for row in table["rows"]:
            if len(row) != len(header):
                continue
            cells = dict(zip(header, row, strict=True))
            for col, text in cells.items():
                value = _number(text)
                if not np.isfinite(value):
                    continue
                if POSITIVE_QUANTITY.search(col) and INTERVAL_BOUND.search(col) and value < 0:
                    problems.append(f"{name}: {col} = {text} < 0 (interval of a positive value)")
                if FRACTION.search(col) and not 0 <= value <= 1:
                    problems.append(f"{name}: fraction {col} = {text} outside [0, 1]")
            slow = cells.get("diffusive") == "False" or bool(cells.get("not_diffusive_reason"))
            if slow and "run_ps" in cells and "run_needed_ps" in cells:
                run, needed = _number(cells["run_ps"]), _number(cells["run_needed_ps"])
                if np.isfinite(run) and not needed > run:  # no run_ps: the MD failed
                    problems.append(
                        f"{name}: run called not diffusive with run_needed_ps "
                        f"{cells['run_needed_ps']} not above run_ps {cells['run_ps']}"
                    )
    return problems
