"""Tg from the density along the quench: the two-line fit (lpsflow.glass_transition)."""

import numpy as np
import pytest

from lpsflow.glass_transition import composition_tg, fit_tg, read_quench, tg_from_runs


def synthetic(seed: int, tg: float | None = 600.0, n: int = 90, noise: float = 0.003):
    """rho(T) (g/cm^3) of a quench from 1200 to 300 K: glass slope -1e-4 /K, melt slope
    -4e-4 /K above ``tg`` (None: one line), Gaussian noise in rho and 5 K in T."""
    rng = np.random.default_rng(seed)
    t = np.linspace(1200, 300, n) + rng.normal(0, 5, n)
    rho = 1.9 - 1e-4 * (t - 300)
    if tg is not None:
        rho -= 3e-4 * np.maximum(t - tg, 0)
    return t, rho + rng.normal(0, noise, n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kink_recovered_within_its_uncertainty(seed):
    fit = fit_tg(*synthetic(seed))
    assert np.isfinite(fit["tg_K"]) and 0 < fit["tg_err_K"] < 30
    assert abs(fit["tg_K"] - 600) < 3 * fit["tg_err_K"]
    assert fit["slope_glass_g_cm3_K"] == pytest.approx(-1e-4, abs=3e-5)
    assert fit["slope_melt_g_cm3_K"] == pytest.approx(-4e-4, abs=5e-5)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_no_kink_gives_nan_with_a_reason(seed):
    fit = fit_tg(*synthetic(seed, tg=None))
    assert np.isnan(fit["tg_K"]) and np.isnan(fit["tg_err_K"])
    assert "kink" in fit["reason"] or "steeper" in fit["reason"]


def test_kink_the_wrong_way_is_not_a_glass_transition():
    """A glass side steeper than the melt is not a Tg (e.g. crystallisation on cooling)."""
    t, rho = synthetic(0, tg=None, noise=0.001)
    rho = rho + 3e-4 * np.maximum(600 - t, 0)  # steeper below 600 K
    fit = fit_tg(t, rho)
    assert np.isnan(fit["tg_K"]) and "steeper" in fit["reason"]


def test_too_few_points():
    fit = fit_tg(np.array([300.0, 600.0, 900.0]), np.array([1.9, 1.8, 1.7]))
    assert np.isnan(fit["tg_K"]) and "too few" in fit["reason"]


def test_composition_pools_replicas_and_keeps_each():
    replicas = {0: synthetic(0), 1: synthetic(1), 2: synthetic(2, tg=None)}
    out = composition_tg("LPS75", replicas)
    assert out["composition"] == "LPS75"
    assert [r["replica"] for r in out["replicas"]] == [0, 1, 2]
    assert out["n_replicas_determined"] == 2  # replica 2 has no kink
    assert abs(out["tg_K"] - 600) < 3 * out["tg_err_K"]
    assert out["pooled"]["n_points"] == 270
    assert "bootstrap" in out["method"]


def test_read_quench_columns(tmp_path):
    """LAMMPS fix ave/time output: step, T, V, rho."""
    path = tmp_path / "quench.dat"
    path.write_text(
        "# Time-averaged data for fix quenchlog\n# TimeStep v_T v_V v_rho\n"
        "100 1190.5 900.0 1.80\n200 1180.2 899.0 1.81\n"
    )
    t, rho = read_quench(path)
    assert t.tolist() == [1190.5, 1180.2] and rho.tolist() == [1.80, 1.81]
    path.write_text("# TimeStep v_T v_V v_rho v_Tset\n100 1190.5 900.0 1.80 1195.0\n")
    t, rho = read_quench(path)  # the thermostat's target where it is recorded
    assert t.tolist() == [1195.0] and rho.tolist() == [1.80]
    (tmp_path / "empty.dat").write_text("")
    assert read_quench(tmp_path / "empty.dat")[0].size == 0


def test_runs_whose_npt_failed_or_crystals_are_left_out(tmp_path):
    paths = []
    for r, (t, rho) in enumerate([synthetic(0), synthetic(1), synthetic(2)]):
        path = tmp_path / f"q{r}.dat"
        np.savetxt(path, np.column_stack([np.arange(len(t)), t, 1000 / rho, rho]))
        paths.append(str(path))
    states = [
        {"replica": 0, "kind": "glass", "quench_rate_K_ps": 9.0},
        {"replica": 1, "kind": "glass", "quench_rate_K_ps": 9.0, "npt_failed": "exploded"},
        {"replica": 2, "kind": "glass", "quench_rate_K_ps": 9.0},
    ]
    out = tg_from_runs("LPS75", paths, states)
    assert [r["replica"] for r in out["replicas"]] == [0, 2]
    assert out["excluded"][0]["replica"] == 1 and "exploded" in out["excluded"][0]["reason"]
    assert out["quench_rate_K_ps"] == 9.0 and np.isfinite(out["tg_K"])
    crystal = tg_from_runs("beta", paths[:1], [{"replica": 0, "kind": "crystal"}])
    assert np.isnan(crystal["tg_K"]) and "crystal" in crystal["reason"]
