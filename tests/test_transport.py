"""Transport analysis recovers known diffusion from synthetic unwrapped trajectories."""

import numpy as np
import pytest

from lpsflow.transport import arrhenius, fit_diffusion, msd_from_dump, nernst_einstein


def write_dump(path, positions, box=20.0):
    """A LAMMPS custom dump (id type xu yu zu) of frames x atoms x 3 positions."""
    n_frames, n_atoms, _ = positions.shape
    with open(path, "w") as fh:
        for f in range(n_frames):
            fh.write(f"ITEM: TIMESTEP\n{f * 100}\nITEM: NUMBER OF ATOMS\n{n_atoms}\n")
            fh.write(f"ITEM: BOX BOUNDS pp pp pp\n0 {box}\n0 {box}\n0 {box}\n")
            fh.write("ITEM: ATOMS id type xu yu zu\n")
            for i, (x, y, z) in enumerate(positions[f]):
                fh.write(f"{i + 1} 1 {x:.6f} {y:.6f} {z:.6f}\n")


@pytest.mark.parametrize("d_a2_ps", [0.05, 0.5])
def test_random_walk_recovers_d(tmp_path, d_a2_ps):
    rng = np.random.default_rng(42)
    dt, n_frames, n_atoms = 0.1, 2000, 200
    steps = rng.normal(0.0, np.sqrt(2 * d_a2_ps * dt), size=(n_frames, n_atoms, 3))
    steps[0] = 0.0
    pos = 10.0 + np.cumsum(steps, axis=0)  # leaves the 20 A box: unwrapped coordinates
    write_dump(tmp_path / "li.dump", pos)
    lags, msd = msd_from_dump(str(tmp_path / "li.dump"), dt)
    assert msd.shape == (n_frames, n_atoms) and lags[1] == pytest.approx(dt)
    fit = fit_diffusion(lags, msd)
    expected = d_a2_ps * 1e-4  # cm^2/s
    assert fit["D_cm2_s"] == pytest.approx(expected, rel=0.05)
    assert 0 < fit["D_err_cm2_s"] < 0.1 * expected
    assert abs(fit["D_cm2_s"] - expected) < 4 * fit["D_err_cm2_s"] + 0.02 * expected
    assert fit["beta"] == pytest.approx(1.0, abs=0.05)


def test_vibrating_atoms_do_not_diffuse(tmp_path):
    rng = np.random.default_rng(1)
    sites = rng.uniform(0, 20, size=(1, 100, 3))
    pos = sites + rng.normal(0, 0.1, size=(1000, 100, 3))  # thermal vibration, no hops
    write_dump(tmp_path / "li.dump", pos)
    fit = fit_diffusion(*msd_from_dump(str(tmp_path / "li.dump"), 0.1))
    assert abs(fit["D_cm2_s"]) < 1e-8 and fit["beta"] < 0.2


def test_nernst_einstein_units():
    # 1e22 ions/cm^3 with D = 1e-6 cm^2/s at 300 K: sigma = n e^2 D / kT = 0.0619 S/cm
    sigma = nernst_einstein(1e-6, n_ions=10, volume_a3=1000.0, temperature_k=300.0)
    assert sigma == pytest.approx(0.06194, rel=1e-3)
    assert nernst_einstein(1e-6, 10, 1000.0, 300.0, haven_ratio=0.5) == pytest.approx(2 * sigma)


def test_arrhenius_recovers_activation_energy():
    ea, a = 0.30, 5e5  # eV, S K/cm
    t = np.array([400.0, 500.0, 600.0, 700.0, 800.0])
    sigma = a / t * np.exp(-ea / (8.617333262e-5 * t))
    rng = np.random.default_rng(0)
    noisy = sigma * (1 + 0.02 * rng.normal(size=t.size))
    fit = arrhenius(t, noisy, 0.02 * sigma)
    assert fit["Ea_eV"] == pytest.approx(ea, abs=0.01)
    assert fit["Ea_lo_eV"] < ea < fit["Ea_hi_eV"]
    true_298 = a / 298.15 * np.exp(-ea / (8.617333262e-5 * 298.15))
    assert fit["sigma_ref_lo_S_cm"] < true_298 < fit["sigma_ref_hi_S_cm"]
