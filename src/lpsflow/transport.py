"""Li+ transport from unwrapped MD coordinates: MSD, diffusion coefficient, conductivity.

The MSD comes from MDAnalysis' Einstein MSD with the FFT algorithm (tidynamics). The
diffusion coefficient is the slope of the mean MSD over a window of lag times, by default
from 10 % to 50 % of the longest lag: past the ballistic and caging regime at short lags and
before the poorly sampled longest lags. Its uncertainty is the standard deviation of the
slope over bootstrap resamples of the Li atoms. Units: angstrom, ps, K; D in cm^2/s,
conductivity in S/cm, activation energies in eV.
"""

from __future__ import annotations

import numpy as np

KB_EV = 8.617333262e-5  # Boltzmann constant, eV/K
KB_J = 1.380649e-23  # J/K
E_C = 1.602176634e-19  # C
A2_PER_PS_TO_CM2_PER_S = 1e-4


def msd_from_dump(path: str, timestep_ps: float) -> tuple[np.ndarray, np.ndarray]:
    """Lag times (ps) and per-atom MSD (angstrom^2, shape lags x atoms) of a LAMMPS dump.

    The dump must hold unwrapped coordinates (``xu yu zu``) of the atoms to analyse, one frame
    every ``timestep_ps``.
    """
    import MDAnalysis as mda
    from MDAnalysis.analysis.msd import EinsteinMSD

    u = mda.Universe(
        path,
        topology_format="LAMMPSDUMP",
        format="LAMMPSDUMP",
        lammps_coordinate_convention="unwrapped",
        dt=timestep_ps,
    )
    msd = EinsteinMSD(u, select="all", msd_type="xyz", fft=True).run()
    lags = np.arange(msd.n_frames) * timestep_ps
    return lags, np.asarray(msd.results.msds_by_particle)


def fit_diffusion(
    lags_ps: np.ndarray,
    msd_by_atom: np.ndarray,
    window: tuple[float, float] = (0.1, 0.5),
    n_boot: int = 200,
    seed: int = 0,
) -> dict:
    """D (cm^2/s) with its bootstrap standard deviation from MSD = 6 D t in ``window``.

    ``window`` is a fraction of the longest lag. Also returns the exponent beta of
    MSD ~ t^beta in the window (1 for diffusive motion).
    """
    t_max = lags_ps[-1]
    sel = (lags_ps >= window[0] * t_max) & (lags_ps <= window[1] * t_max)
    if sel.sum() < 3:
        raise ValueError("fewer than 3 lag times in the fit window: run longer or dump more often")
    t = lags_ps[sel]

    def slope(msd: np.ndarray) -> float:
        return float(np.polyfit(t, msd[sel], 1)[0])

    mean = msd_by_atom.mean(axis=1)
    rng = np.random.default_rng(seed)
    n_atoms = msd_by_atom.shape[1]
    boot = [
        slope(msd_by_atom[:, rng.integers(0, n_atoms, n_atoms)].mean(axis=1)) for _ in range(n_boot)
    ]
    positive = mean[sel] > 0
    beta = (
        float(np.polyfit(np.log(t[positive]), np.log(mean[sel][positive]), 1)[0])
        if positive.sum() >= 3
        else float("nan")
    )
    to_d = A2_PER_PS_TO_CM2_PER_S / 6.0
    return {
        "D_cm2_s": slope(mean) * to_d,
        "D_err_cm2_s": float(np.std(boot)) * to_d,
        "fit_start_ps": float(t[0]),
        "fit_end_ps": float(t[-1]),
        "beta": beta,
    }


def nernst_einstein(
    d_cm2_s: float, n_ions: int, volume_a3: float, temperature_k: float, haven_ratio: float = 1.0
) -> float:
    """Conductivity (S/cm) of ``n_ions`` monovalent ions in ``volume_a3`` with tracer D.

    sigma = n q^2 D / (k_B T H_R); H_R = 1 gives the tracer (uncorrelated) conductivity.
    """
    n_per_cm3 = n_ions / (volume_a3 * 1e-24)
    return n_per_cm3 * E_C**2 * d_cm2_s / (KB_J * temperature_k * haven_ratio)


def arrhenius(
    temperatures_k: np.ndarray,
    sigma: np.ndarray,
    sigma_err: np.ndarray,
    t_ref: float = 298.15,
    n_samples: int = 4000,
    seed: int = 0,
) -> dict:
    """Weighted fit of ln(sigma T) = ln A - Ea / (k_B T); Ea (eV) and sigma(t_ref) (S/cm).

    Returns the values with 95 % intervals from the fit covariance (Monte Carlo).
    Points with non-positive sigma are left out; at least 3 are needed for an interval.
    """
    t = np.asarray(temperatures_k, float)
    s = np.asarray(sigma, float)
    e = np.asarray(sigma_err, float)
    ok = (s > 0) & np.isfinite(s)
    if ok.sum() < 2:
        raise ValueError("need at least two temperatures with positive conductivity")
    x, y = 1.0 / t[ok], np.log(s[ok] * t[ok])
    rel = np.where(e[ok] > 0, e[ok] / s[ok], np.nan)
    w = 1.0 / np.where(
        np.isfinite(rel) & (rel > 0), rel, np.nanmedian(rel) if np.isfinite(rel).any() else 1.0
    )
    if ok.sum() >= 3:
        coef, cov = np.polyfit(x, y, 1, w=w, cov="unscaled")
    else:
        coef, cov = np.polyfit(x, y, 1, w=w), np.zeros((2, 2))
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(coef, cov, size=n_samples)
    ea = -draws[:, 0] * KB_EV
    s_ref = np.exp(draws[:, 1] + draws[:, 0] / t_ref) / t_ref
    return {
        "Ea_eV": float(-coef[0] * KB_EV),
        "Ea_lo_eV": float(np.percentile(ea, 2.5)),
        "Ea_hi_eV": float(np.percentile(ea, 97.5)),
        "sigma_ref_S_cm": float(np.exp(coef[1] + coef[0] / t_ref) / t_ref),
        "sigma_ref_lo_S_cm": float(np.percentile(s_ref, 2.5)),
        "sigma_ref_hi_S_cm": float(np.percentile(s_ref, 97.5)),
        "t_ref_K": t_ref,
        "n_points": int(ok.sum()),
        "slope": float(coef[0]),
        "intercept": float(coef[1]),
    }
