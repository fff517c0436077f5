"""Li+ transport from unwrapped MD coordinates: MSD, diffusion, tracer and collective conductivity.

Trajectories are LAMMPS ``dump dcd`` files written with ``dump_modify unwrap yes`` (binary,
float32, sorted by atom ID): ``li.dcd`` holds the Li group every ``dump_every`` steps and
``all.dcd`` every atom every ``dump_all_every`` steps. DCD carries no types: the atoms are in
the order of the run's start structure (LAMMPS atom IDs 1..N), whose symbols select Li and give
the formal charges. MDAnalysis reads the files; the MSD is computed here with the FFT algorithm
(Calandrini et al. 2011, as in MDAnalysis' EinsteinMSD/tidynamics) in float64 on chunks of
atoms, so that 1e5 frames x 500 Li stay under 1 GB (see bench/transport_analysis.py).

Rules a run must pass before its numbers are used (tested in tests/test_transport.py):

* **Fit window.** D is the slope of MSD = 6 D t between ``FIT_WINDOW`` = 5 % and 20 % of the
  longest lag. Measured on independent random walks of production size (500 Li, 1e4 frames,
  100 realisations, known D), ``PYTHONPATH=src python bench/transport_analysis.py window
  --realisations 100`` (2026-11-25): RMS relative error of D [0.02, 0.1]: 1.2 %,
  [0.05, 0.2]: 1.9 %, [0.1, 0.5]: 3.5 % (the previous default); biases <= 0.3 %. Longer lags
  have fewer independent time origins, so shorter windows are more precise on a pure random
  walk; but the first tens of ps of a glass are ballistic and caged (sub-diffusive), so the
  window does not start below 5 % of the run (50 ps of a 1 ns run).
* **Diffusive regime.** In the window the local exponent beta of MSD ~ t^beta (log-log slope)
  must be >= ``BETA_MIN`` = 0.9 and the MSD at the end of the window >= ``MSD_MIN_A2`` = 6 A^2,
  comparable to the squared distance between neighbouring Li sites (a few angstrom; 6 A^2 is
  a hop of about 2.5 A), so the Li have left their cages. Runs that fail are
  ``not_diffusive``; :func:`diffusive_check` estimates the run length that would pass, always
  longer than the run (at least ``RUN_FLOOR_FACTOR`` = 2 x when no estimate exists), which
  :func:`lpsflow.production.extension_ps` uses to extend a run within a limit.
* **Intervals of positive quantities** (D, sigma) are log-normal: the value's standard error
  ``err`` becomes a log-space width s = sqrt(ln(1 + (err / value)^2)) (the log-normal with the
  same mean and standard deviation) and the 95 % bounds are value x exp(-/+ z s), with z the
  normal (or Student t) quantile; they never go below zero however large the error
  (:func:`positive_interval`). A non-positive central value (a noisy fit of a run that did not
  move) gets the bounds [0, max(value + z err, 0)]: the normal interval cut at zero.
* **Regimes.** With a model glass transition temperature Tg per composition, each temperature
  is ``below_tg`` (T < Tg) or ``above_tg`` (T >= Tg), ``unknown`` without Tg. Ea and
  sigma(298 K) come from the diffusive, trusted temperatures below Tg only (3 or more); the
  points above Tg are fitted apart (the melt) and never joined with them (:func:`arrhenius`).
* **Within-run uncertainty** by blocks in time: the run is cut into ``n_blocks`` consecutive
  blocks and D (and the collective slope) is fitted in each with the same fractional window.
  The error of the full-run D is the standard deviation of the block values (ddof 1), not
  divided by sqrt(n_blocks): in the diffusive regime the relative error of a fit over a fixed
  fraction of the run does not depend on the run length (lags and time origins scale
  together), so one block's scatter is the full run's error; the coverage on random walks is
  pinned in tests/test_transport.py. The bootstrap over Li atoms is kept for comparison (it
  ignores the time correlation).
* **Collective conductivity** from the MSD of the total charge displacement
  Q(t) = sum_i q_i r_i(t) with formal charges (:data:`FORMAL_CHARGES`):
  sigma = <|Q(t) - Q(0)|^2> slope / (6 V k_B T); the Haven ratio H_R = sigma_tracer /
  sigma_collective.

Libraries weighed (2026-11-25, ``pip install --dry-run --report``): kinisi 2.1.0, whose
conductivity analysis does the charge MSD with Bayesian errors, would add 11 packages to the
shared environment (scipp, dynesty, emcee, scikit-learn, statsmodels, formulaic, patsy,
beautifulsoup4, ...); pymatgen-analysis-diffusion adds only seaborn here, but its
DiffusionAnalyzer holds pymatgen Structures and a float64 displacement matrix of all frames
(over the 1 GB target at 1e5 frames) and gives the Nernst-Einstein (tracer) conductivity. The
charge MSD is a few lines on top of the FFT MSD, so it is written here and tested against
synthetic cases with known Haven ratios (independent walkers: 1; rigid Li pairs: 1/2).

Units: angstrom, ps, K; D in cm^2/s, conductivity in S/cm, activation energies in eV.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

KB_EV = 8.617333262e-5  # Boltzmann constant, eV/K
KB_J = 1.380649e-23  # J/K
E_C = 1.602176634e-19  # C
A2_PER_PS_TO_CM2_PER_S = 1e-4

FIT_WINDOW = (0.05, 0.2)  # fraction of the longest lag; measured choice, see module docstring
BETA_MIN = 0.9  # local log-log MSD slope in the fit window
MSD_MIN_A2 = 6.0  # MSD at the end of the fit window, A^2 (~ squared Li hop distance)
FORMAL_CHARGES = {"Li": 1, "P": 5, "S": -2, "O": -2, "F": -1, "Cl": -1, "Br": -1, "I": -1}
Z95 = 1.959963984540054  # two-sided 95 % quantile of the normal distribution
#: a run called not diffusive without a finite estimate longer than itself needs at least this
#: many times its length (the fit window then spans lags this much longer)
RUN_FLOOR_FACTOR = 2.0
#: an estimate is never less than this many times the run: a run a few per cent longer moves
#: the fit window too little to change the verdict (and would read as the same run)
RUN_MIN_FACTOR = 1.1
REGIMES = ("below_tg", "above_tg", "unknown")


# ---------------------------------------------------------------------------------- intervals
def positive_interval(value, err, factor: float = Z95) -> tuple:
    """Bounds (lo, hi) of a positive quantity from its value and standard error, >= 0.

    Log-normal: s = sqrt(ln(1 + (err / value)^2)), bounds value x exp(-/+ factor s); ``factor``
    is the quantile (1.96 for 95 % normal, a Student t quantile for few replicas). A
    non-positive value gives [0, max(value + factor err, 0)] (normal interval cut at zero); a
    missing error gives NaN bounds. Works on scalars and arrays (same units as ``value``).
    """
    v = np.asarray(value, float)
    e = np.abs(np.asarray(err, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(np.log1p((e / v) ** 2))
        lo = np.where(v > 0, v * np.exp(-factor * s), 0.0)
        hi = np.where(v > 0, v * np.exp(factor * s), np.maximum(v + factor * e, 0.0))
    bad = ~(np.isfinite(v) & np.isfinite(e))
    lo, hi = np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


def positive_errorbars(value, err, factor: float = 1.0) -> np.ndarray:
    """Asymmetric error bars (2 x n, for matplotlib ``yerr``) of :func:`positive_interval`:
    they never reach below zero (NaN bounds give no bar)."""
    v = np.asarray(value, float)
    lo, hi = positive_interval(v, err, factor)
    return np.nan_to_num(np.vstack([v - np.atleast_1d(lo), np.atleast_1d(hi) - v]), nan=0.0)


def fraction_errorbars(value, err) -> np.ndarray:
    """Error bars (2 x n) of fractions, clipped so that value -/+ bar stays within [0, 1]
    (clipping: a fraction's spread over frames is symmetric only away from 0 and 1)."""
    v = np.clip(np.asarray(value, float), 0.0, 1.0)
    e = np.nan_to_num(np.abs(np.asarray(err, float)), nan=0.0)
    return np.vstack([np.minimum(e, v), np.minimum(e, 1.0 - v)])


# ---------------------------------------------------------------------------------- reading
def read_dcd(path: str, indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Positions (frames x atoms x 3, float32, angstrom) of a DCD file, optionally a subset.

    ``indices`` are 0-based atom positions in the file (LAMMPS atom ID - 1). MDAnalysis reads
    all frames of the selected atoms in one pass in C (``timeseries``), so only the selected
    atoms are held in memory (1e5 frames x 500 atoms: 600 MB).
    """
    import warnings

    import MDAnalysis as mda
    from MDAnalysis.coordinates.DCD import DCDReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        n_atoms = DCDReader(path).n_atoms
        u = mda.Universe.empty(n_atoms, trajectory=False)
        u.load_new(path, format="DCD")
        group = u.atoms if indices is None else u.atoms[np.asarray(indices, int)]
        out = u.trajectory.timeseries(atomgroup=group, order="fac")
        u.trajectory.close()
    return out


def charges_of(symbols: Sequence[str]) -> np.ndarray:
    """Formal charges (e) of the atoms; raises for an element without one."""
    missing = sorted(set(symbols) - set(FORMAL_CHARGES))
    if missing:
        raise ValueError(f"no formal charge for {missing}: extend lpsflow.transport.FORMAL_CHARGES")
    q = np.array([FORMAL_CHARGES[s] for s in symbols], float)
    if abs(q.sum()) > 1e-9:
        raise ValueError(f"formal charges sum to {q.sum():g} e, not 0: cell is not neutral")
    return q


# ---------------------------------------------------------------------------------- MSD
def _msd_fft_1d(x: np.ndarray) -> np.ndarray:
    """MSD over lags of series along axis 0 (frames x n x 3 -> frames x n), FFT algorithm."""
    from scipy import fft

    n = x.shape[0]
    x = x - x[0]  # shift-invariant; keeps float64 round-off small
    d = np.sum(x * x, axis=2)  # frames x n
    dsum = np.concatenate([np.zeros((1, d.shape[1])), np.cumsum(d, axis=0)])
    m = np.arange(n)
    # S1(m) = sum_{k=0}^{n-m-1} (d_k + d_{k+m}) / (n - m); S2(m) = autocorrelation / (n - m)
    s1 = (dsum[n - m] + (dsum[n] - dsum[m])) / (n - m)[:, None]
    size = fft.next_fast_len(2 * n, real=True)
    f = fft.rfft(x, n=size, axis=0)
    power = f.real**2 + f.imag**2
    del f
    acf = fft.irfft(power, n=size, axis=0)[:n].sum(axis=2)
    return np.maximum(s1 - 2.0 * acf / (n - m)[:, None], 0.0)


def msd_chunks(positions: np.ndarray, chunk: int = 8) -> Iterator[np.ndarray]:
    """Per-atom MSD (A^2, lags x atoms-in-chunk, float64) of unwrapped positions, by chunks."""
    for start in range(0, positions.shape[1], chunk):
        yield _msd_fft_1d(positions[:, start : start + chunk].astype(np.float64))


def msd_by_atom(positions: np.ndarray) -> np.ndarray:
    """Per-atom MSD (A^2, lags x atoms) of unwrapped positions (frames x atoms x 3)."""
    return np.concatenate(list(msd_chunks(positions)), axis=1)


def _in_window(lags: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """Lag times between ``window[0]`` and ``window[1]`` times the longest one (a mask)."""
    t_max = lags[-1]
    return (lags >= window[0] * t_max) & (lags <= window[1] * t_max)


def lags_in_window(n_frames: int, window: tuple[float, float] = FIT_WINDOW) -> int:
    """Lag times an MSD of ``n_frames`` evenly spaced frames has in the fit ``window``
    (a fit needs at least 3: see :func:`_window`)."""
    return int(_in_window(np.arange(n_frames, dtype=float), window).sum()) if n_frames > 1 else 0


def _window(lags_ps: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    sel = _in_window(lags_ps, window)
    if sel.sum() < 3:
        raise ValueError("fewer than 3 lag times in the fit window: run longer or dump more often")
    return sel


def _slopes(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slopes of y (len(t) x k) against t."""
    tc = t - t.mean()
    return tc @ (y - y.mean(axis=0)) / (tc @ tc)


def local_exponent(lags_ps: np.ndarray, msd: np.ndarray, window: tuple[float, float]) -> float:
    """beta of MSD ~ t^beta: slope of log MSD against log t in ``window`` (1: diffusive)."""
    sel = _window(lags_ps, window)
    t, y = lags_ps[sel], msd[sel]
    ok = y > 0
    if ok.sum() < 3:
        return float("nan")
    return float(np.polyfit(np.log(t[ok]), np.log(y[ok]), 1)[0])


def tracer_msd(
    positions: np.ndarray,
    timestep_ps: float,
    window: tuple[float, float] = FIT_WINDOW,
    n_boot: int = 200,
    seed: int = 0,
) -> dict:
    """Mean MSD and per-atom window slopes of unwrapped positions (frames x atoms x 3).

    Returns ``lags_ps``, ``msd_A2`` (mean over atoms) and ``D_cm2_s`` with ``D_boot_err_cm2_s``
    (bootstrap over atoms: the slope of the mean is the mean of the per-atom slopes).
    """
    n = positions.shape[0]
    lags = np.arange(n) * timestep_ps
    sel = _window(lags, window)
    total = np.zeros(n)
    slopes = []
    for block in msd_chunks(positions):
        total += block.sum(axis=1)
        slopes.append(_slopes(lags[sel], block[sel]))
    slopes = np.concatenate(slopes)
    mean = total / positions.shape[1]
    rng = np.random.default_rng(seed)
    boot = slopes[rng.integers(0, len(slopes), (n_boot, len(slopes)))].mean(axis=1)
    to_d = A2_PER_PS_TO_CM2_PER_S / 6.0
    return {
        "lags_ps": lags,
        "msd_A2": mean,
        "D_cm2_s": float(slopes.mean()) * to_d,
        "D_boot_err_cm2_s": float(np.std(boot)) * to_d,
        "fit_start_ps": float(lags[sel][0]),
        "fit_end_ps": float(lags[sel][-1]),
    }


def block_slopes(
    series: np.ndarray, timestep_ps: float, n_blocks: int, window: tuple[float, float]
) -> np.ndarray:
    """Slope (A^2/ps) of the atoms' mean MSD in each of ``n_blocks`` consecutive time blocks.

    ``series`` is frames x atoms x 3; each block's MSD is fitted in ``window`` of its own
    longest lag. Empty when a block has fewer than 3 lags in the window.
    """
    n = series.shape[0] // n_blocks
    lags = np.arange(n) * timestep_ps
    if lags_in_window(n, window) < 3:
        return np.array([])  # blocks too short for the window: no block error (NaN)
    out = []
    for b in range(n_blocks):
        part = series[b * n : (b + 1) * n]
        sel = _window(lags, window)
        mean = sum(c.sum(axis=1) for c in msd_chunks(part)) / part.shape[1]
        out.append(float(_slopes(lags[sel], mean[sel][:, None])[0]))
    return np.array(out)


def block_error(values: np.ndarray) -> float:
    """Error of a full-run fit from its block values: their standard deviation (ddof 1).

    NaN for fewer than 2 blocks. See the module docstring for why it is not divided by
    sqrt(n_blocks).
    """
    values = np.asarray(values, float)
    return float(np.std(values, ddof=1)) if len(values) > 1 else np.nan


def msd_from_dump(path: str, timestep_ps: float) -> tuple[np.ndarray, np.ndarray]:
    """Lag times (ps) and per-atom MSD (A^2, lags x atoms) of a LAMMPS text dump.

    The dump must hold unwrapped coordinates (``xu yu zu``) of the atoms to analyse, one frame
    every ``timestep_ps``. Kept for small text dumps (tests, teacher runs); production runs use
    DCD (:func:`read_dcd`), which is much faster to read.
    """
    import MDAnalysis as mda

    u = mda.Universe(
        path,
        topology_format="LAMMPSDUMP",
        format="LAMMPSDUMP",
        lammps_coordinate_convention="unwrapped",
        dt=timestep_ps,
    )
    positions = u.trajectory.timeseries(atomgroup=u.atoms, order="fac")
    return np.arange(len(positions)) * timestep_ps, msd_by_atom(positions)


def fit_diffusion(
    lags_ps: np.ndarray,
    msd_by_atom: np.ndarray,
    window: tuple[float, float] = FIT_WINDOW,
    n_boot: int = 200,
    seed: int = 0,
) -> dict:
    """D (cm^2/s) with its bootstrap (over atoms) standard deviation from MSD = 6 D t.

    ``msd_by_atom`` is lags x atoms (A^2); ``window`` a fraction of the longest lag. Also
    returns beta of MSD ~ t^beta in the window (1 for diffusive motion). For a run's full
    analysis with block errors and the diffusive check use :func:`analyze_run`.
    """
    sel = _window(lags_ps, window)
    slopes = _slopes(lags_ps[sel], msd_by_atom[sel])
    rng = np.random.default_rng(seed)
    boot = slopes[rng.integers(0, len(slopes), (n_boot, len(slopes)))].mean(axis=1)
    to_d = A2_PER_PS_TO_CM2_PER_S / 6.0
    return {
        "D_cm2_s": float(slopes.mean()) * to_d,
        "D_err_cm2_s": float(np.std(boot)) * to_d,
        "fit_start_ps": float(lags_ps[sel][0]),
        "fit_end_ps": float(lags_ps[sel][-1]),
        "beta": local_exponent(lags_ps, msd_by_atom.mean(axis=1), window),
    }


# ---------------------------------------------------------------------------------- rules
def diffusive_check(
    lags_ps: np.ndarray,
    msd_a2: np.ndarray,
    d_cm2_s: float,
    window: tuple[float, float] = FIT_WINDOW,
    beta_min: float = BETA_MIN,
    msd_min_a2: float = MSD_MIN_A2,
) -> dict:
    """Is the Li motion diffusive in the fit window? With an estimate of the run needed.

    Passes when the log-log slope ``beta`` >= ``beta_min`` and the MSD at the end of the window
    >= ``msd_min_a2`` (A^2). For a run that passes, ``run_needed_ps`` is the run itself (ps).
    For a run that fails it is always longer than the run: when the MSD falls short, the
    recorded run whose window end would reach ``msd_min_a2``, the larger of the time from D
    (MSD = 6 D t) and from the current growth (MSD ~ t^beta extrapolated from the window end)
    (``run_needed_basis`` "MSD growth and D", at least :data:`RUN_MIN_FACTOR` x the run);
    when that is not finite or not longer than the run (only beta fails: a sub-diffusive MSD
    gives no time at which it turns diffusive), the floor :data:`RUN_FLOOR_FACTOR` x the run
    (basis "floor"), a lower bound, not a prediction.
    ``run_factor`` = run_needed_ps / run.
    """
    sel = _window(lags_ps, window)
    beta = local_exponent(lags_ps, msd_a2, window)
    t_end = float(lags_ps[sel][-1])
    msd_end = float(msd_a2[sel][-1])
    ok_beta = bool(np.isfinite(beta) and beta >= beta_min)
    ok_msd = msd_end >= msd_min_a2
    reasons = []
    if not ok_beta:
        reasons.append(f"beta {beta:.2f} < {beta_min:g}")
    if not ok_msd:
        reasons.append(f"MSD {msd_end:.2f} A^2 < {msd_min_a2:g} A^2 at the window end")
    run_ps = float(lags_ps[-1])
    run_needed, basis = run_ps, "diffusive"
    if not (ok_beta and ok_msd):
        estimate = float("nan")
        if not ok_msd:
            d_a2_ps = d_cm2_s / A2_PER_PS_TO_CM2_PER_S
            candidates = []
            if np.isfinite(d_a2_ps) and d_a2_ps > 0:
                candidates.append(msd_min_a2 / (6.0 * d_a2_ps))
            if np.isfinite(beta) and beta > 0.05 and msd_end > 0:
                candidates.append(t_end * (msd_min_a2 / msd_end) ** (1.0 / beta))
            estimate = max(candidates) / window[1] if candidates else float("nan")
        if np.isfinite(estimate) and estimate > run_ps:
            run_needed, basis = max(estimate, RUN_MIN_FACTOR * run_ps), "MSD growth and D"
        else:
            run_needed = RUN_FLOOR_FACTOR * run_ps
            basis = f"floor {RUN_FLOOR_FACTOR:g} x run (no estimate longer than the run)"
    return {
        "beta": beta,
        "msd_window_end_A2": msd_end,
        "diffusive": ok_beta and ok_msd,
        "not_diffusive": not (ok_beta and ok_msd),  # the flag the report lists
        "not_diffusive_reason": "; ".join(reasons),
        "run_needed_ps": run_needed,
        "run_needed_basis": basis,
        "run_factor": run_needed / run_ps if run_ps > 0 else float("nan"),
    }


def nernst_einstein(
    d_cm2_s: float, n_ions: int, volume_a3: float, temperature_k: float, haven_ratio: float = 1.0
) -> float:
    """Conductivity (S/cm) of ``n_ions`` monovalent ions in ``volume_a3`` with tracer D.

    sigma = n q^2 D / (k_B T H_R); H_R = 1 gives the tracer (uncorrelated) conductivity.
    """
    n_per_cm3 = n_ions / (volume_a3 * 1e-24)
    return n_per_cm3 * E_C**2 * d_cm2_s / (KB_J * temperature_k * haven_ratio)


def charge_displacement(positions: np.ndarray, charges: np.ndarray) -> np.ndarray:
    """Total charge displacement Q(t) = sum_i q_i r_i(t) (frames x 1 x 3, e angstrom)."""
    q = np.asarray(charges, float)
    out = np.empty((positions.shape[0], 1, 3))
    for start in range(0, positions.shape[0], 1000):  # float64 sums without a float64 copy
        part = positions[start : start + 1000].astype(np.float64)
        out[start : start + 1000, 0] = np.einsum("fai,a->fi", part, q)
    return out


def collective_conductivity(
    positions: np.ndarray,
    charges: np.ndarray,
    timestep_ps: float,
    volume_a3: float,
    temperature_k: float,
    window: tuple[float, float] = FIT_WINDOW,
    n_blocks: int = 5,
) -> dict:
    """sigma (S/cm) from the MSD of the total charge displacement, with a block error.

    sigma = d<|Q(t) - Q(0)|^2>/dt / (6 V k_B T), Q = sum_i q_i r_i (all ions, formal charges).
    ``positions`` are unwrapped (frames x atoms x 3, angstrom) every ``timestep_ps``.
    """
    qd = charge_displacement(positions, charges)
    lags = np.arange(qd.shape[0]) * timestep_ps
    sel = _window(lags, window)
    msd = _msd_fft_1d(qd)[:, 0]
    to_sigma = E_C**2 * 1e-16 / 1e-12 / (6.0 * volume_a3 * 1e-24 * KB_J * temperature_k)
    slope = float(_slopes(lags[sel], msd[sel][:, None])[0])
    blocks = block_slopes(qd, timestep_ps, n_blocks, window) if n_blocks > 1 else np.array([])
    return {
        "lags_ps": lags,
        "charge_msd_e2A2": msd,
        "sigma_collective_S_cm": slope * to_sigma,
        "sigma_collective_err_S_cm": block_error(blocks) * to_sigma,
        "collective_blocks": len(blocks),
    }


def combine_replicas(
    values: Sequence[float], errors: Sequence[float], positive: bool = True
) -> dict:
    """Mean over replicas with an uncertainty from their spread and their own errors.

    err^2 = s^2 / n + sum(e_i^2) / n^2: the standard error of the mean from the between-replica
    standard deviation s (NaN-free only for n >= 2) added to the propagated within-run errors,
    which keeps the interval honest when two or three replicas happen to agree closely.
    ``lo``/``hi``: 95 % interval with the quantile t(0.975, n - 1) (Student t: 12.7 for two
    replicas, 4.3 for three; 1.96 for one, whose error is its within-run error only). For a
    ``positive`` quantity (D, sigma: the default) the interval is log-normal,
    mean x exp(-/+ t s) with s = sqrt(ln(1 + (err / mean)^2)) (:func:`positive_interval`), so
    it never goes below zero; otherwise mean -/+ t err.
    """
    v = np.asarray(values, float)
    e = np.asarray(errors, float)
    n = len(v)
    if n == 0:
        return {"mean": np.nan, "err": np.nan, "lo": np.nan, "hi": np.nan, "spread": np.nan, "n": 0}
    from scipy import stats

    within = np.sqrt(np.nansum(e**2)) / n
    spread = float(np.std(v, ddof=1)) if n > 1 else np.nan
    between = spread / np.sqrt(n) if n > 1 else 0.0
    err = float(np.hypot(between, within))
    # 95 % interval: Student t with n - 1 degrees of freedom (few replicas: wide), normal for 1
    factor = float(stats.t.ppf(0.975, n - 1)) if n > 1 else float(stats.norm.ppf(0.975))
    mean = float(v.mean())
    if positive:
        lo, hi = positive_interval(mean, err, factor)
    else:
        lo, hi = mean - factor * err, mean + factor * err
    return {"mean": mean, "err": err, "lo": lo, "hi": hi, "spread": spread, "n": n}


def analyze_run(
    li_path: str,
    symbols: Sequence[str],
    volume_a3: float,
    temperature_k: float,
    timestep_ps: float,
    *,
    all_path: str | None = None,
    all_timestep_ps: float | None = None,
    window: tuple[float, float] = FIT_WINDOW,
    n_blocks: int = 5,
    beta_min: float = BETA_MIN,
    msd_min_a2: float = MSD_MIN_A2,
    haven_ratio_fallback: float = 1.0,
) -> tuple[dict, dict]:
    """One transport run: tracer D and sigma, diffusive check, collective sigma, Haven ratio.

    ``li_path``: DCD of the Li atoms only (every ``timestep_ps``); ``symbols``: the run's start
    structure (atom order of ``all_path``, the optional DCD of all atoms every
    ``all_timestep_ps``). Without ``all_path`` the collective sigma is the tracer sigma divided
    by ``haven_ratio_fallback``. Returns (summary, curves): curves hold the mean Li MSD and the
    charge MSD against lag time.
    """
    n_li = list(symbols).count("Li")
    li = read_dcd(li_path)
    if li.shape[1] != n_li:
        raise ValueError(f"{li_path}: {li.shape[1]} atoms, the structure has {n_li} Li")
    tracer = tracer_msd(li, timestep_ps, window)
    to_d = A2_PER_PS_TO_CM2_PER_S / 6.0
    blocks_d = block_slopes(li, timestep_ps, n_blocks, window) * to_d if n_blocks > 1 else []
    del li
    d = tracer["D_cm2_s"]
    d_err = block_error(blocks_d)
    check = diffusive_check(tracer["lags_ps"], tracer["msd_A2"], d, window, beta_min, msd_min_a2)
    sigma = nernst_einstein(d, n_li, volume_a3, temperature_k)
    summary = {
        "temperature_K": temperature_k,
        "n_li": n_li,
        "volume_A3": volume_a3,
        "run_ps": float(tracer["lags_ps"][-1]),
        "fit_start_ps": tracer["fit_start_ps"],
        "fit_end_ps": tracer["fit_end_ps"],
        "D_cm2_s": d,
        "D_err_cm2_s": d_err,
        "D_boot_err_cm2_s": tracer["D_boot_err_cm2_s"],
        "n_blocks": n_blocks,
        **check,
        "sigma_S_cm": sigma,
        "sigma_err_S_cm": sigma * d_err / d if d > 0 else float("nan"),
    }
    curves = {"lag_ps": tracer["lags_ps"], "msd_A2": tracer["msd_A2"]}
    if all_path is not None:
        q = charges_of(symbols)
        coll = collective_conductivity(
            read_dcd(all_path), q, all_timestep_ps, volume_a3, temperature_k, window, n_blocks
        )
        summary.update(
            collective_source="charge MSD (all.dcd)",
            sigma_collective_S_cm=coll["sigma_collective_S_cm"],
            sigma_collective_err_S_cm=coll["sigma_collective_err_S_cm"],
        )
        curves_all = {"lag_ps": coll["lags_ps"], "charge_msd_e2A2": coll["charge_msd_e2A2"]}
    else:
        summary.update(
            collective_source=f"fallback H_R = {haven_ratio_fallback:g}",
            sigma_collective_S_cm=sigma / haven_ratio_fallback,
            sigma_collective_err_S_cm=summary["sigma_err_S_cm"] / haven_ratio_fallback,
        )
        curves_all = None
    sc = summary["sigma_collective_S_cm"]
    summary["haven_ratio"] = sigma / sc if sc > 0 else float("nan")
    return summary, {"li": curves, "charge": curves_all}


def classify_regime(temperatures_k, tg_k: float | None) -> np.ndarray:
    """``below_tg`` (T < Tg), ``above_tg`` (T >= Tg) or, when ``tg_k`` is None or NaN,
    ``unknown``, for each temperature (K)."""
    t = np.atleast_1d(np.asarray(temperatures_k, float))
    if tg_k is None or not np.isfinite(tg_k):
        return np.full(t.shape, "unknown", dtype=object)
    return np.where(t < tg_k, "below_tg", "above_tg").astype(object)


def _arrhenius_fit(
    t: np.ndarray,
    s: np.ndarray,
    e: np.ndarray,
    t_ref: float | None,
    n_samples: int,
    seed: int,
    min_points: int,
    where: str,
) -> dict:
    """Weighted fit of ln(sigma T) against 1/T of the given points (see :func:`arrhenius`);
    ``t_ref`` None: no extrapolated sigma. ``where`` names the points in the note."""
    ok = (s > 0) & np.isfinite(s)
    nan = float("nan")
    out = {
        "Ea_eV": nan,
        "Ea_lo_eV": nan,
        "Ea_hi_eV": nan,
        "sigma_ref_S_cm": nan,
        "sigma_ref_lo_S_cm": nan,
        "sigma_ref_hi_S_cm": nan,
        "n_points": int(ok.sum()),
        "slope": nan,
        "intercept": nan,
        "chi2_red": nan,
        "note": "",
    }
    if t_ref is None:
        for key in ("sigma_ref_S_cm", "sigma_ref_lo_S_cm", "sigma_ref_hi_S_cm"):
            del out[key]
    if ok.sum() < min_points:
        wanted = "Ea" if t_ref is None else f"Ea, sigma({t_ref:g} K)"
        out["note"] = (
            f"{int(ok.sum())} usable temperature(s){where} (diffusive, trusted, sigma > 0); "
            f"at least {min_points} are needed for {wanted} and intervals"
        )
        return out
    x, y = 1.0 / t[ok], np.log(s[ok] * t[ok])
    rel = np.where((e[ok] > 0) & np.isfinite(e[ok]), e[ok] / s[ok], np.nan)
    fill = np.nanmedian(rel) if np.isfinite(rel).any() else 1.0
    rel = np.where(np.isfinite(rel), rel, fill)
    w = 1.0 / rel  # sigma of ln(sigma T) is the relative error
    coef, cov = np.polyfit(x, y, 1, w=w, cov="unscaled")
    resid = (y - np.polyval(coef, x)) * w
    dof = len(x) - 2
    chi2_red = float(resid @ resid / dof) if dof > 0 else nan
    if np.isfinite(chi2_red) and chi2_red > 1:
        cov = cov * chi2_red
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(coef, cov, size=n_samples)
    ea = -draws[:, 0] * KB_EV
    out.update(
        {
            "Ea_eV": float(-coef[0] * KB_EV),
            "Ea_lo_eV": float(np.percentile(ea, 2.5)),
            "Ea_hi_eV": float(np.percentile(ea, 97.5)),
            "slope": float(coef[0]),
            "intercept": float(coef[1]),
            "chi2_red": chi2_red,
        }
    )
    if t_ref is not None:
        s_ref = np.exp(draws[:, 1] + draws[:, 0] / t_ref) / t_ref  # > 0: log-space by design
        out.update(
            {
                "sigma_ref_S_cm": float(np.exp(coef[1] + coef[0] / t_ref) / t_ref),
                "sigma_ref_lo_S_cm": float(np.percentile(s_ref, 2.5)),
                "sigma_ref_hi_S_cm": float(np.percentile(s_ref, 97.5)),
            }
        )
    return out


def arrhenius(
    temperatures_k: np.ndarray,
    sigma: np.ndarray,
    sigma_err: np.ndarray,
    t_ref: float = 298.15,
    n_samples: int = 4000,
    seed: int = 0,
    min_points: int = 3,
    tg_k: float | None = None,
) -> dict:
    """Weighted fit of ln(sigma T) = ln A - Ea / (k_B T); Ea (eV) and sigma(t_ref) (S/cm).

    Returns the values with 95 % intervals from the fit covariance (Monte Carlo in the
    parameters, so sigma(t_ref) and its bounds are positive), the covariance scaled by the
    reduced chi-square when that exceeds 1. Points with non-positive sigma are left out; with
    fewer than ``min_points`` usable temperatures every value is NaN and ``note`` says why.

    ``tg_k``: the model's glass transition temperature (K). Given, only the points below it
    (:func:`classify_regime`) give Ea and sigma(t_ref) (the glass); the points at or above it
    are fitted apart (``melt_*`` keys: Ea, its interval, slope, intercept, never extrapolated
    to t_ref) and the two are never joined. Without it (None or NaN) every point is fitted
    together as one law (regime ``unknown``) and ``tg_note`` says that the regimes were not
    separated.
    """
    t = np.asarray(temperatures_k, float)
    s = np.asarray(sigma, float)
    e = np.asarray(sigma_err, float)
    regime = classify_regime(t, tg_k)
    known = tg_k is not None and np.isfinite(tg_k)
    glass = regime == "below_tg" if known else np.ones(t.shape, bool)
    where = f" below the model Tg ({tg_k:.0f} K)" if known else ""
    out = {"t_ref_K": t_ref, "tg_K": float(tg_k) if known else float("nan")}
    out.update(
        _arrhenius_fit(t[glass], s[glass], e[glass], t_ref, n_samples, seed, min_points, where)
    )
    out["regime"] = "below_tg" if known else "unknown"
    melt = regime == "above_tg"
    fit = _arrhenius_fit(
        t[melt],
        s[melt],
        e[melt],
        None,
        n_samples,
        seed,
        min_points,
        f" at or above the model Tg ({tg_k:.0f} K)" if known else "",
    )
    out.update({f"melt_{k}": v for k, v in fit.items()})
    if not known:
        out["melt_note"] = "model Tg not determined: no melt fit"
    out["tg_note"] = (
        "" if known else "model Tg not determined: the fit may join the glass and the melt"
    )
    return out


def model_tg(tg: dict | None, composition: str) -> tuple[float, float, str]:
    """(Tg in K, its uncertainty in K, method) of ``composition`` from ``tg`` (composition ->
    dict with ``tg_K``, ``tg_err_K``, ``method`` and, when undetermined, ``reason``, as in
    results/production/{comp}/tg.json); NaN and "not determined" (with the reason) when absent
    or NaN."""
    entry = (tg or {}).get(composition)
    if not entry:
        return float("nan"), float("nan"), "not determined"
    value = entry.get("tg_K")
    err = entry.get("tg_err_K")
    value = float(value) if value is not None else float("nan")
    err = float(err) if err is not None else float("nan")
    method = str(entry.get("method") or "")
    if not np.isfinite(value):
        reason = entry.get("reason")
        method = (
            "not determined"
            + (f" ({reason})" if reason else "")
            + (f"; method: {method}" if method else "")
        )
    return value, err, method


def runs_table(runs: pd.DataFrame, tg: dict | None = None) -> pd.DataFrame:
    """The per-run table with 95 % bounds and the regime of each run.

    Adds ``D_lo95``/``D_hi95`` (cm^2/s), ``sigma_lo95``/``sigma_hi95`` and
    ``sigma_collective_lo95``/``sigma_collective_hi95`` (S/cm): log-normal bounds of the value
    and its within-run error (:func:`positive_interval`, z = 1.96), never below zero; ``tg_K``
    and ``regime`` (:func:`classify_regime`) from the model Tg per composition ``tg``.
    """
    out = runs.copy()
    for key, err in (
        ("D_cm2_s", "D_err_cm2_s"),
        ("sigma_S_cm", "sigma_err_S_cm"),
        ("sigma_collective_S_cm", "sigma_collective_err_S_cm"),
    ):
        base = key.replace("_S_cm", "").replace("_cm2_s", "")
        value = out[key] if key in out else np.nan
        error = out[err] if err in out else np.nan
        lo, hi = positive_interval(np.asarray(value, float), np.asarray(error, float))
        out[base + "_lo95"], out[base + "_hi95"] = lo, hi
    tgs = {c: model_tg(tg, c)[0] for c in out["composition"].unique()}
    out["tg_K"] = out["composition"].map(tgs)
    out["regime"] = [
        classify_regime([t], tgs[c])[0]
        for c, t in zip(out["composition"], out["temperature_K"], strict=True)
    ]
    return out


def summarize_runs(runs: pd.DataFrame, tg: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per composition and temperature from the replica runs; Arrhenius fits of usable points.

    ``runs`` has one row per run (``analyze_run`` summary + ``composition``, ``replica``,
    ``untrusted``, ``diffusive``). A run is usable when diffusive and trusted; a temperature is
    fitted when at least one replica is usable, with the values combined over the usable
    replicas (:func:`combine_replicas`: log-normal 95 % bounds ``*_lo95``/``*_hi95``, never
    below zero). A temperature without usable replicas shows the mean of all its runs and
    ``fitted`` False. ``tg`` maps composition -> model Tg (:func:`model_tg`); each temperature
    gets its ``regime``. Returns (table, arrhenius): the Arrhenius fits of the tracer and of the
    collective sigma use the fitted temperatures only, below Tg for Ea and sigma(298 K) and
    above Tg apart (``melt_*``); without Tg all fitted temperatures together (regime unknown).
    """
    import pandas as pd

    rows = []
    for (comp, temp), g in runs.groupby(["composition", "temperature_K"]):
        usable = g[g["diffusive"].astype(bool) & ~g["untrusted"].astype(bool)]
        use = usable if len(usable) else g
        tg_k = model_tg(tg, comp)[0]
        row = {
            "composition": comp,
            "temperature_K": temp,
            "tg_K": tg_k,
            "regime": classify_regime([temp], tg_k)[0],
            "replicas": len(g),
            "usable_replicas": len(usable),
            "not_diffusive_replicas": ",".join(
                str(r) for r in g.loc[~g["diffusive"].astype(bool), "replica"]
            ),
            "untrusted_replicas": ",".join(
                str(r) for r in g.loc[g["untrusted"].astype(bool), "replica"]
            ),
            "fitted": bool(len(usable)),
            "run_ps": float(g["run_ps"].min()),
            "beta_min_of_runs": float(g["beta"].min()),
            "run_needed_ps": float(g["run_needed_ps"].max()),
        }
        for key, err in (
            ("D_cm2_s", "D_err_cm2_s"),
            ("sigma_S_cm", "sigma_err_S_cm"),
            ("sigma_collective_S_cm", "sigma_collective_err_S_cm"),
        ):
            c = combine_replicas(use[key], use[err])
            base = key.replace("_S_cm", "").replace("_cm2_s", "")
            row[key], row[err], row[base + "_spread"] = c["mean"], c["err"], c["spread"]
            row[base + "_lo95"], row[base + "_hi95"] = c["lo"], c["hi"]
        s, sc = row["sigma_S_cm"], row["sigma_collective_S_cm"]
        row["haven_ratio"] = s / sc if sc > 0 else np.nan
        row["haven_ratio_err"] = (
            row["haven_ratio"]
            * np.hypot(row["sigma_err_S_cm"] / s, row["sigma_collective_err_S_cm"] / sc)
            if s > 0 and sc > 0
            else np.nan
        )
        row["collective_source"] = ", ".join(sorted(set(use["collective_source"])))
        rows.append(row)
    table = pd.DataFrame(rows)
    fits = []
    for comp, g in table.groupby("composition"):
        tg_k, tg_err, method = model_tg(tg, comp)
        fit_points = g[g["fitted"]]
        tracer = arrhenius(
            fit_points["temperature_K"],
            fit_points["sigma_S_cm"],
            fit_points["sigma_err_S_cm"],
            tg_k=tg_k,
        )
        coll = arrhenius(
            fit_points["temperature_K"],
            fit_points["sigma_collective_S_cm"],
            fit_points["sigma_collective_err_S_cm"],
            tg_k=tg_k,
        )
        melt = fit_points["regime"] == "above_tg"

        def temps(rows) -> str:
            return " ".join(f"{t:g}" for t in rows["temperature_K"])

        fits.append(
            {
                "composition": comp,
                "tg_err_K": tg_err,
                "tg_method": method,
                "fitted_T_K": temps(fit_points[~melt]),
                "melt_fitted_T_K": temps(fit_points[melt]),
                "left_out_T_K": temps(g[~g["fitted"]]),
                **tracer,
                **{
                    f"collective_{k}": v
                    for k, v in coll.items()
                    if k not in ("t_ref_K", "tg_K", "regime", "tg_note")
                },
            }
        )
    return table, pd.DataFrame(fits)
