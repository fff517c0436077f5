"""CP2K engine: input, failure classification (fast), and real runs on an 8-atom cell (slow)."""

import re

import numpy as np
import pytest
from conftest import needs_cp2k

from lpsflow.dft import get_engine
from lpsflow.dft.cp2k import classify, input_text
from lpsflow.labeling import label_frame
from lpsflow.store import LabelStore

EV_PER_GPA_A3 = 1.0 / 160.21766208


def test_input_has_kinds_cell_and_stress(cheap_dft, li3ps4_8):
    text = input_text(li3ps4_8, cheap_dft)
    assert "STRESS_TENSOR ANALYTICAL" in text and "RUN_TYPE ENERGY_FORCE" in text
    assert re.search(r"&KIND Li\s+BASIS_SET SZV-MOLOPT-SR-GTH\s+POTENTIAL GTH-PBE", text)
    assert "      A 6.50000000 0.00000000 0.00000000" in text
    assert "VDW_POTENTIAL" not in text
    d3 = input_text(li3ps4_8, {**cheap_dft, "dispersion": "D3BJ"})
    assert "TYPE DFTD3(BJ)" in d3
    robust = input_text(li3ps4_8, cheap_dft, robust=True)
    assert f"MAX_SCF {cheap_dft['scf']['max_scf'] * cheap_dft['scf']['robust_factor']}" in robust


@pytest.mark.parametrize(
    "text,rc,timed_out,reason",
    [
        (None, 137, False, "crash: no output"),
        (
            "x\n *** WARNING in qs_scf.F:601 :: SCF run NOT converged ***\n PROGRAM ENDED AT\n",
            0,
            False,
            "scf_not_converged",
        ),
        ("SCF run converged\n ATOMIC FORCES in [a.u.]\n", 0, False, "output ends early"),
        ("ATOMIC FORCES in [a.u.]\n PROGRAM ENDED AT\n", 0, False, "incomplete"),
        ("anything", None, True, "timeout"),
    ],
)
def test_classify_failures(tmp_path, text, rc, timed_out, reason):
    out = tmp_path / "cp2k.out"
    if text is not None:
        out.write_text(text)
    assert reason in classify(out, rc, timed_out)


@pytest.mark.parametrize(
    "command,reason", [("sh -c 'kill -9 $$'", "crash"), ("sh -c 'sleep 30'", "timeout")]
)
def test_crash_and_timeout_are_failures_not_errors(tmp_path, cheap_dft, li3ps4_8, command, reason):
    engine = get_engine("cp2k", {**cheap_dft, "command": command, "timeout_s": 1})
    result = label_frame(li3ps4_8, engine, LabelStore(tmp_path / "s"), max_attempts=2)
    assert result.status == "failed" and result.reason.startswith(reason)
    assert result.n_runs == 2


def _stress_gpa(output):
    text = output.read_text().split("STRESS| Analytical stress tensor [GPa]")[1]
    lines = [ln for ln in text.splitlines() if re.match(r"\s*STRESS\|\s+[xyz]\s+-?\d", ln)]
    return np.array([[float(v) for v in ln.split()[2:5]] for ln in lines[:3]])


@pytest.mark.slow
@needs_cp2k()
def test_real_label_has_energy_forces_and_virial(tmp_path, cheap_dft, li3ps4_8):
    store = LabelStore(cheap_dft["store"])
    engine = get_engine("cp2k", cheap_dft, threads=2)
    result = label_frame(li3ps4_8, engine, store)
    assert (result.status, result.reused, result.n_runs) == ("ok", False, 1)
    import dpdata

    label = dpdata.LabeledSystem(str(store.label_path(result.key)), fmt="deepmd/npy")
    assert label["forces"].shape == (1, 8, 3) and np.all(np.isfinite(label["forces"]))
    assert np.isfinite(label["energies"][0]) and label["energies"][0] < -1000  # eV
    assert "virials" in label.data, "virial missing: is cp2kdata installed?"
    # virial (eV) = CP2K stress (GPa, positive = compression) x V / 160.2177
    stress = _stress_gpa(store.entry(result.key) / "attempt_0" / "cp2k.out")
    expected = stress * li3ps4_8.get_volume() * EV_PER_GPA_A3
    assert np.allclose(label["virials"][0], expected, rtol=1e-6, atol=1e-6)
    assert np.abs(expected).max() > 0.1
    assert not list((store.entry(result.key) / "attempt_0").glob("*.wfn*"))
    # a second request is served from the store
    again = label_frame(li3ps4_8, engine, store)
    assert (again.key, again.reused, again.n_runs) == (result.key, True, 0)


@pytest.mark.slow
@needs_cp2k()
@pytest.mark.parametrize("dispersion", ["none", "D3"])  # the production preset uses D3
def test_virial_matches_finite_difference_of_energy(tmp_path, cheap_dft, li3ps4_8, dispersion):
    """-dE/d(strain) for an isotropic strain equals the trace of the parsed virial."""
    settings = {**cheap_dft, "eps_scf": 1e-8, "dispersion": dispersion}
    engine = get_engine("cp2k", settings, threads=2)
    energies = {}
    virial = None
    for eps in (-0.004, 0.0, 0.004):
        atoms = li3ps4_8.copy()
        atoms.set_cell(np.asarray(atoms.cell) * (1 + eps), scale_atoms=True)
        outcome = engine.run(atoms, tmp_path / f"e{eps}", attempt=0)
        assert outcome.ok, outcome.reason
        energies[eps] = outcome.system["energies"][0]
        if eps == 0.0:
            virial = outcome.system["virials"][0]
    d_e = (energies[0.004] - energies[-0.004]) / 0.008
    assert -d_e == pytest.approx(np.trace(virial), rel=0.03, abs=0.05)


@pytest.mark.slow
@needs_cp2k()
def test_unconverged_scf_is_failure_then_retried(tmp_path, cheap_dft, li3ps4_8):
    settings = {**cheap_dft, "scf": {**cheap_dft["scf"], "max_scf": 3, "robust_factor": 40}}
    engine = get_engine("cp2k", settings, threads=2)
    once = label_frame(li3ps4_8, engine, LabelStore(tmp_path / "a"), max_attempts=1)
    assert (once.status, once.reason) == ("failed", "scf_not_converged")
    store = LabelStore(tmp_path / "b")
    twice = label_frame(li3ps4_8, engine, store, max_attempts=2)
    assert (twice.status, twice.n_runs) == ("ok", 2)
    attempts = store.record(twice.key)["attempts"]
    assert [a["reason"] for a in attempts] == ["scf_not_converged", ""]
    assert attempts[1]["robust"] is True


HARTREE_EV = 27.211386245988  # eV (CODATA 2018), the unit of CP2K's energies


def _strained(atoms, component, eps):
    """``atoms`` under a symmetric strain ``eps`` of one Voigt component (0 xx .. 5 xy)."""
    i, j = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)][component]
    strain = np.zeros((3, 3))
    strain[i, j] = strain[j, i] = eps if i == j else eps / 2
    out = atoms.copy()
    out.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + strain), scale_atoms=True)
    return out


def _dispersion_ev(output):
    """CP2K's printed dispersion energy (Hartree in the output) in eV."""
    found = re.findall(r"Dispersion energy:\s+(-?\d+\.\d+)", output.read_text())
    assert found, f"no dispersion energy in {output}"
    return float(found[-1]) * HARTREE_EV


@pytest.mark.slow
@needs_cp2k()
def test_d3_stress_components_match_finite_differences(tmp_path, cheap_dft, li3ps4_8):
    """With D3 (the production preset's dispersion) the analytic stress, component by
    component (uniaxial xx and shear yz, strain +-0.5 %), equals -dE/d(strain).

    The D3 part is checked on its own as well: D3 is a pair potential added after the SCF,
    so the stress with D3 minus the stress without it at the same frame is D3's stress, and
    the printed dispersion energy of the strained frames gives its derivative free of SCF
    noise. In the virial convention: virial_ij = -dE/d(strain_ij) (eV).

    Measured 2026-12-04 (CP2K 2023.1, cheap preset, 8 atoms): D3 xx -0.5943 (FD) vs -0.5942
    eV (analytic), D3 yz 0.02126 vs 0.02127 eV; total xx 27.42 vs 27.34, yz 2.640 vs 2.653 eV.
    """
    h = 0.005
    settings = {**cheap_dft, "eps_scf": 1e-8, "dispersion": "D3"}
    with_d3 = get_engine("cp2k", settings, threads=1)
    without = get_engine("cp2k", {**settings, "dispersion": "none"}, threads=1)

    def run(engine, atoms, name):
        outcome = engine.run(atoms, tmp_path / name, attempt=0)
        assert outcome.ok, outcome.reason
        return outcome.system, tmp_path / name / "cp2k.out"

    centre, centre_out = run(with_d3, li3ps4_8, "centre")
    plain, _ = run(without, li3ps4_8, "plain")
    virial = centre["virials"][0]
    d3_virial = virial - plain["virials"][0]
    assert _dispersion_ev(centre_out) < -0.1  # eV: D3 is on and attractive
    for component, (i, j) in ((0, (0, 0)), (3, (1, 2))):  # yz: the cell's largest D3 shear
        total, disp = [], []
        for eps in (-h, h):
            system, output = run(with_d3, _strained(li3ps4_8, component, eps), f"c{component}{eps}")
            total.append(system["energies"][0])
            disp.append(_dispersion_ev(output))
        d_total = (total[1] - total[0]) / (2 * h)
        d_disp = (disp[1] - disp[0]) / (2 * h)
        assert abs(d3_virial[i, j]) > 0.01, "D3 stress too small for the test to see it"
        assert -d_disp == pytest.approx(d3_virial[i, j], rel=0.01, abs=0.002), (i, j)
        assert -d_total == pytest.approx(virial[i, j], rel=0.02, abs=0.05), (i, j)
