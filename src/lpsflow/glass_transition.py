"""The model's glass transition: Tg from the density recorded along the quench.

The melt-quench (:func:`lpsflow.production.melt_quench_input`) writes the temperature (K),
volume (A^3), density (g/cm^3) and the thermostat's target temperature (K), each averaged over
blocks of steps, to ``quench.dat``; the fit uses the target (:func:`read_quench`). A glass
has a smaller thermal expansion than its melt, so rho(T) bends at Tg. :func:`fit_tg`
fits a continuous two-line (piecewise linear) model,

    rho(T) = a + b (T - Tg) + c max(T - Tg, 0),

by least squares over a grid of breakpoints (Tg is the breakpoint of the smallest residual
sum of squares). Uncertainty: the standard deviation of Tg over bootstrap resamples of the
points (pairs bootstrap; neighbouring blocks of one quench are correlated, so this is a lower
bound when the blocks are short against the structural relaxation). The kink counts as
found only if (1) the two-line model beats one line by an F-test (2 extra parameters, p <
``p_max``; approximate, the breakpoint being fitted), (2) the melt side is steeper (d rho /dT
more negative above Tg than below, as a liquid expands more than its glass), and (3) at least
``agree`` of the bootstrap fits have that sign; otherwise Tg is NaN with the reason.

A quench in MD is 1e10-1e13 times faster than a DTA/DSC measurement, so the model's Tg is
expected above a measured one (``data/measured_tg.csv``); the shift grows with the rate
(``production.quench_rate_sensitivity``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import f as f_dist

METHOD = (
    "two-line (continuous piecewise linear) least-squares fit of the density against the "
    "thermostat's target temperature along the NPT quench; Tg = the breakpoint; error = standard "
    "deviation of Tg over bootstrap resamples of the points (pairs bootstrap); NaN unless the "
    "kink beats one line (F-test), the melt side is steeper and the bootstrap agrees on it"
)


def read_quench(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Temperature (K) and density (g/cm^3) of ``quench.dat`` (LAMMPS ``fix ave/time``
    columns: step, T, V, rho and, when recorded, the thermostat's target T); empty arrays
    for a file without records.

    The temperature is the target of the linear ramp where it is recorded: the kinetic
    temperature of a small cell fluctuates by sqrt(2 / 3N) (14 % at 32 atoms, per block far
    more than the ramp moves), noise in x that flattens the slopes and smears the kink; the
    thermostat lags the target by about its damping time x the rate (10 K at 100 K/ps)."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return np.array([]), np.array([])
    data = np.loadtxt(path, comments="#", ndmin=2)
    if data.size == 0:
        return np.array([]), np.array([])
    t = data[:, 4] if data.shape[1] > 4 else data[:, 1]
    return t.astype(float), data[:, 3].astype(float)


def _grid(t: np.ndarray, min_side: int, n_grid: int) -> np.ndarray:
    """Breakpoints with at least ``min_side`` points on each side."""
    ts = np.sort(t)
    return np.linspace(ts[min_side - 1], ts[len(ts) - min_side], n_grid)


def _sse_profile(t: np.ndarray, y: np.ndarray, w: np.ndarray, grid: np.ndarray):
    """Weighted residual sum of squares and coefficients (a, b, c) of the two-line model at
    every breakpoint of ``grid`` (vectorised normal equations)."""
    d = t[None, :] - grid[:, None]  # breakpoints x points
    x = np.stack([np.ones_like(d), d, np.maximum(d, 0.0)], axis=-1)  # ... x 3
    xtwx = np.einsum("gni,n,gnj->gij", x, w, x)
    xtwy = np.einsum("gni,n,n->gi", x, w, y)
    ok = np.abs(np.linalg.det(xtwx)) > 1e-12 * np.abs(xtwx).max()
    coef = np.full((len(grid), 3), np.nan)
    coef[ok] = np.linalg.solve(xtwx[ok], xtwy[ok][..., None])[..., 0]
    sse = np.einsum("n,n,n->", w, y, y) - np.einsum("gi,gi->g", coef, xtwy)
    return np.where(ok, sse, np.inf), coef


def _line_sse(t: np.ndarray, y: np.ndarray) -> float:
    x = np.stack([np.ones_like(t), t], axis=1)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    return float(np.sum((y - x @ coef) ** 2))


def fit_tg(
    temperature_k: np.ndarray,
    density: np.ndarray,
    *,
    n_boot: int = 300,
    p_max: float = 0.01,
    agree: float = 0.95,
    min_side: int | None = None,
    n_grid: int = 200,
    seed: int = 0,
) -> dict:
    """Tg (K) of density-temperature points by the two-line fit (module docstring).

    ``min_side``: fewest points on each side of the breakpoint (default: 4 or 10 % of the
    points). Returns ``tg_K``, ``tg_err_K`` (both NaN when no kink is found, with ``reason``),
    the slopes below and above Tg (g/cm^3/K), the F-test p-value, the fraction of bootstrap
    fits with the melt side steeper, and the number of points.
    """
    t = np.asarray(temperature_k, float)
    y = np.asarray(density, float)
    keep = np.isfinite(t) & np.isfinite(y)
    t, y = t[keep], y[keep]
    n = len(t)
    side = min_side or max(4, n // 10)
    out = {
        "tg_K": float("nan"),
        "tg_err_K": float("nan"),
        "slope_glass_g_cm3_K": float("nan"),
        "slope_melt_g_cm3_K": float("nan"),
        "p_value": float("nan"),
        "bootstrap_agreement": float("nan"),
        "n_points": int(n),
        "t_min_K": float(t.min()) if n else float("nan"),
        "t_max_K": float(t.max()) if n else float("nan"),
        "reason": "",
    }
    if n < 2 * side + 1 or np.ptp(t) <= 0:
        out["reason"] = f"{n} points over {np.ptp(t) if n else 0:.0f} K: too few for a two-line fit"
        return out
    grid = _grid(t, side, n_grid)
    sse, coef = _sse_profile(t, y, np.ones(n), grid)
    best = int(np.argmin(sse))
    a, b, c = coef[best]
    sse2, sse1 = float(sse[best]), _line_sse(t, y)
    f_stat = ((sse1 - sse2) / 2.0) / (sse2 / (n - 4)) if sse2 > 0 else np.inf
    p_value = float(f_dist.sf(f_stat, 2, n - 4)) if np.isfinite(f_stat) else 0.0
    rng = np.random.default_rng(seed)
    boot_tg, boot_c = [], []
    for _ in range(n_boot):
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        if np.count_nonzero(w) < 2 * side + 1:
            continue
        sse_b, coef_b = _sse_profile(t, y, w, grid)
        k = int(np.argmin(sse_b))
        boot_tg.append(grid[k])
        boot_c.append(coef_b[k, 2])
    boot_tg, boot_c = np.array(boot_tg), np.array(boot_c)
    agreement = float(np.mean(boot_c < 0)) if len(boot_c) else float("nan")
    out.update(
        slope_glass_g_cm3_K=float(b),
        slope_melt_g_cm3_K=float(b + c),
        p_value=p_value,
        bootstrap_agreement=agreement,
    )
    reasons = []
    if not p_value < p_max:
        reasons.append(f"no significant kink (F-test p = {p_value:.2g} >= {p_max:g})")
    if not c < 0:
        reasons.append("the melt side is not steeper than the glass side")
    if not len(boot_c):
        reasons.append("too few distinct points for the bootstrap")
    elif not agreement >= agree:
        reasons.append(f"only {agreement:.0%} of bootstrap fits have the melt side steeper")
    if reasons:
        out["reason"] = "; ".join(reasons)
        return out
    out.update(tg_K=float(grid[best]), tg_err_K=float(np.std(boot_tg)))
    return out


def composition_tg(composition: str, replicas: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict:
    """Tg per replica and pooled over the replicas of a composition (all their points in
    one fit; the replicas are independent glasses of the same model and rate).

    ``replicas``: replica -> (temperature K, density g/cm^3) along its quench. The result is
    what ``results/production/<comp>/tg.json`` holds: ``composition``, ``tg_K``,
    ``tg_err_K`` (pooled; NaN if undetermined), ``method``, ``replicas`` (per-replica fits)
    and the replica mean and spread of the determined per-replica values.
    """
    per = {r: fit_tg(t, rho) for r, (t, rho) in sorted(replicas.items())}
    t_all = np.concatenate([t for t, _ in replicas.values()]) if replicas else np.array([])
    rho_all = np.concatenate([rho for _, rho in replicas.values()]) if replicas else np.array([])
    pooled = fit_tg(t_all, rho_all)
    found = np.array([v["tg_K"] for v in per.values() if np.isfinite(v["tg_K"])])
    return {
        "composition": composition,
        "tg_K": pooled["tg_K"],
        "tg_err_K": pooled["tg_err_K"],
        "method": METHOD + "; pooled: one fit to the points of every replica",
        "reason": pooled["reason"],
        "pooled": pooled,
        "replica_tg_mean_K": float(found.mean()) if len(found) else float("nan"),
        "replica_tg_std_K": float(found.std(ddof=1)) if len(found) > 1 else float("nan"),
        "n_replicas_determined": int(len(found)),
        "replicas": [{"replica": int(r), **v} for r, v in per.items()],
    }


def tg_from_runs(composition: str, quench_paths: list[str], densities: list[dict]) -> dict:
    """:func:`composition_tg` of a composition's melt-quench runs: ``quench_paths[i]`` is the
    ``quench.dat`` of the replica whose ``density.json`` is ``densities[i]``. A replica whose
    NPT failed (constant-volume fallback: no density to fit) or a crystal (no quench) is left
    out and listed under ``excluded`` with the reason; the quench rate (K/ps) is recorded."""
    runs, excluded = {}, []
    for path, state in zip(quench_paths, densities, strict=True):
        replica = int(state["replica"])
        if state.get("kind") == "crystal":
            excluded.append({"replica": replica, "reason": "crystal: not melted"})
        elif state.get("npt_failed"):
            excluded.append({"replica": replica, "reason": f"NPT failed: {state['npt_failed']}"})
        else:
            runs[replica] = read_quench(path)
    out = composition_tg(composition, runs)
    rates = {s.get("quench_rate_K_ps") for s in densities} - {None}
    out.update(
        quench_rate_K_ps=rates.pop() if len(rates) == 1 else float("nan"),
        excluded=excluded,
    )
    if not runs:
        out["reason"] = "no quench to fit: " + "; ".join(e["reason"] for e in excluded)
    return out


def tg_table(results: list[dict], measured: pd.DataFrame) -> pd.DataFrame:
    """Per composition (and quench rate): the model's Tg (K) with its error, the replica
    spread, and the measured Tg of the glass of the same Li2S fraction where a checked source
    gives one (``measured``: :func:`lpsflow.glass_density.measured_tg`; ``x`` per result)."""
    rows = []
    for r in results:
        x = r.get("x")
        match = (
            measured[np.isclose(measured["x_li2s"].astype(float), x, atol=1e-3)]
            if x is not None and len(measured)
            else measured.iloc[0:0]
        )
        rows.append(
            {
                "composition": r["composition"],
                "quench_rate_K_ps": r.get("quench_rate_K_ps", float("nan")),
                "tg_K": r["tg_K"],
                "tg_err_K": r["tg_err_K"],
                "replica_tg_mean_K": r.get("replica_tg_mean_K", float("nan")),
                "replica_tg_std_K": r.get("replica_tg_std_K", float("nan")),
                "n_replicas_determined": r.get("n_replicas_determined", 0),
                "reason": r.get("reason", ""),
                "measured_tg_K": float(match["tg_K"].iloc[0]) if len(match) else float("nan"),
                "measured_method": match["method"].iloc[0] if len(match) else "",
                "measured_reference": match["reference"].iloc[0] if len(match) else "",
            }
        )
    return pd.DataFrame(rows)
