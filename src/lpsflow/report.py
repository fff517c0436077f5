"""The campaign report: one self-contained HTML page (figures embedded as PNG, no network).

Figures are drawn with matplotlib (Agg) and embedded as base64; the page comes from the
Jinja2 template ``templates/report.html.j2``; tables are pandas' HTML.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from importlib import metadata
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from jinja2 import Environment, PackageLoader, select_autoescape  # noqa: E402


def figure_png(fig) -> str:
    """A matplotlib figure as a data URI (and closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def table_html(df: pd.DataFrame, floatfmt: str = "{:.4g}") -> str:
    if df is None or df.empty:
        return "<p class='muted'>none</p>"
    return df.to_html(
        index=False, classes="table", float_format=floatfmt.format, na_rep="–", border=0
    )


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
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for (comp, temp), df in sorted(msd.items()):
        ax.plot(df["lag_ps"], df["msd_A2"], label=f"{comp} {temp} K")
    ax.set(xlabel="lag time (ps)", ylabel="Li MSD (Å²)", title="Li mean squared displacement")
    ax.legend(fontsize=7, ncol=2)
    return figure_png(fig)


def plot_arrhenius(cond: pd.DataFrame, arr: pd.DataFrame, exp: pd.DataFrame) -> str:
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for comp, g in cond.groupby("composition"):
        ok = g["sigma_S_cm"] > 0
        x = 1000.0 / g.loc[ok, "temperature_K"]
        line = ax.errorbar(
            x, g.loc[ok, "sigma_S_cm"], yerr=g.loc[ok, "sigma_err_S_cm"], fmt="o", label=comp
        )
        fit = arr[arr["composition"] == comp]
        if not fit.empty and "slope" in fit and np.isfinite(fit["slope"].iloc[0]):
            t = np.linspace(298.15, g["temperature_K"].max(), 50)
            s = np.exp(fit["intercept"].iloc[0] + fit["slope"].iloc[0] / t) / t
            ax.plot(1000.0 / t, s, "--", color=line[0].get_color())
    for _, ref in exp.iterrows():
        ax.plot(1000.0 / 298.15, ref["sigma_rt_S_cm"], "k*", ms=10)
        ax.annotate(
            ref["reference"].split(",")[0],
            (1000.0 / 298.15, ref["sigma_rt_S_cm"]),
            fontsize=6,
            xytext=(4, 0),
            textcoords="offset points",
        )
    ax.set(
        yscale="log",
        xlabel="1000 / T (1/K)",
        ylabel="σ (S/cm)",
        title="Arrhenius plot (stars: experiment, 298 K)",
    )
    ax.legend(fontsize=7)
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


def expected_units(sample_paths: list[str]) -> dict:
    """Anion units each composition was built with (from the sampled cells' headers)."""
    from ase.io import read

    out = {}
    for path in sample_paths:
        atoms = read(path)
        out[atoms.info.get("composition", Path(path).parent.name)] = atoms.info.get(
            "units", "crystal file"
        )
    return out


def build_context(inp, config: dict, type_map: list[str], store: str) -> dict:
    """Everything the template shows, from the workflow's tables (``inp``: named paths)."""
    iterations = pd.read_csv(inp["iterations"])
    last = int(iterations["iteration"].max())
    frames = [pd.read_csv(f"results/iter_{i:03d}/select/frames.csv") for i in range(last + 1)]
    labels = [pd.read_csv(f"results/iter_{i:03d}/label/labels.csv") for i in range(last)]
    parity = pd.read_csv(inp["parity"])
    cond = pd.read_csv(inp["conductivity"])
    arr = pd.read_csv(inp["arrhenius"])
    exp = experimental_references()
    structures = {}
    for path in inp["structure"]:
        structures[Path(path).parent.name] = json.loads(Path(path).read_text())
    msd = {}
    for path in inp["msd"]:
        p = Path(path)
        msd[(p.parent.parent.name, p.parent.name[1:])] = pd.read_csv(p)
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
    untrusted = cond[cond["untrusted"]]
    units = expected_units(inp["samples"])
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
        "run_ps",
        "D_cm2_s",
        "D_err_cm2_s",
        "beta",
        "sigma_S_cm",
        "sigma_err_S_cm",
        "untrusted_fraction",
        "untrusted",
    ]
    arr_cols = [
        c
        for c in [
            "composition",
            "Ea_eV",
            "Ea_lo_eV",
            "Ea_hi_eV",
            "sigma_ref_S_cm",
            "sigma_ref_lo_S_cm",
            "sigma_ref_hi_S_cm",
            "n_points",
            "any_untrusted_run",
            "note",
        ]
        if c in arr
    ]
    comps = pd.DataFrame(config["compositions"])
    theory = theory_table(inp["theory"]) if "theory" in inp.keys() else None
    return {
        "theory": table_html(theory) if theory is not None else None,
        "n_theories": int(theory["theory"].nunique()) if theory is not None else 0,
        "title": "LPS force-field campaign",
        "digest": config_digest(config),
        "type_map": " ".join(type_map),
        "compositions": table_html(comps),
        "versions": software_versions(
            store, sorted(Path("results/production").glob("*/melt_quench/log.lammps"))
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
        "fig_parity": parity_png,
        "parity_stats": table_html(parity_stats),
        "fig_rdf": plot_rdfs(structures) if structures else None,
        "speciation": table_html(speciation),
        "fig_msd": plot_msd(msd) if msd else None,
        "fig_arrhenius": plot_arrhenius(cond, arr, exp),
        "conductivity": table_html(cond[[c for c in cond_cols if c in cond]]),
        "arrhenius": table_html(arr[arr_cols]),
        "experimental": table_html(exp),
        "haven_ratio": config["production"]["haven_ratio"],
        "fit_window": config["production"]["fit_window"],
        "failures": table_html(failures),
        "n_failures": len(failures),
        "untrusted": table_html(
            untrusted[["composition", "temperature_K", "untrusted_fraction", "max_devi_f"]]
        )
        if len(untrusted)
        else None,
        "production": config["production"],
    }
