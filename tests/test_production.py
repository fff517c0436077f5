import json
import re
from pathlib import Path

import numpy as np
import pytest

from lpsflow.amorphous import density, pack
from lpsflow.glass_structure import analyse_run, read_dcd_frames
from lpsflow.lammps_output import read_trajectory
from lpsflow.production import (
    append_model_devi,
    ensemble_models,
    extend_until_diffusive,
    extension_input,
    extension_ps,
    melt_quench_input,
    npt_summary,
    run_guarded,
    run_npt_or_fallback,
    transport_input,
)
from lpsflow.settings import GlassSettings, RunSettings
from lpsflow.stoichiometry import solve


def _manifest(tmp_path, models):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"models": models}))
    return path


def test_ensemble_lists_each_member_once(tmp_path):
    """The compressed copy of member 0 replaces it: 4 members give 4 distinct models."""
    files = [f"graph_{m}.pb" for m in range(4)] + [f"input_{m}.json" for m in range(4)]
    models = ensemble_models(_manifest(tmp_path, files + ["graph_0_compressed.pb"]))
    names = [Path(m).name for m in models]
    assert names == ["graph_0_compressed.pb", "graph_1.pb", "graph_2.pb", "graph_3.pb"]
    assert "graph_0.pb" not in names


def test_ensemble_without_compression(tmp_path):
    models = ensemble_models(_manifest(tmp_path, ["graph_0.pb", "graph_1.pb", "input_0.json"]))
    assert [Path(m).name for m in models] == ["graph_0.pb", "graph_1.pb"]


SETTINGS = dict(
    timestep_fs=1.0,
    melt_temperature=1000,
    quench_to=300,
    pressure=1.0,
    devi_every=10,
    melt_steps=100,
    quench_rate=7000,  # K/ps: 100 steps from 1000 to 300 K
    anneal_steps=100,
    npt_steps=200,
    equilibration_steps=50,
    steps=200,
    dump_every=10,
    dump_all_every=50,
    seed=1,
    extend_up_to_ps=0.0,
)
TYPES = ["Li", "P", "S"]


def glass_settings(**change) -> GlassSettings:
    """The melt-quench settings of SETTINGS (seed 7), with ``change`` applied."""
    return GlassSettings.pick({**SETTINGS, "n_atoms": 32, "seed": 7, **change})


def run_settings(**change) -> RunSettings:
    """One transport run's settings of SETTINGS, with ``change`` applied."""
    return RunSettings.pick({**SETTINGS, **change})


def test_glass_quenched_and_annealed_at_pressure():
    text = melt_quench_input(["/m/0.pb", "/m/1.pb"], TYPES, glass_settings())
    assert "fix             melt all npt temp 1000 1000 0.1 iso 1.0 1.0 1.0" in text
    assert "run             100\nunfix           quenchlog" in text  # 700 K at 7000 K/ps
    assert "fix             quench all npt temp 1000 300 0.1 iso 1.0 1.0 1.0" in text
    assert "fix             anneal all npt temp 300 300 0.1 iso 1.0 1.0 1.0" in text
    assert text.index("anneal") < text.index("change_box") < text.index("write_dump")
    assert "fix             guard all halt" in text


def test_crystal_relaxed_not_melted():
    text = melt_quench_input(["/m/0.pb"], TYPES, glass_settings(), crystal=True)
    assert "melt" not in text and "quench" not in text
    assert "velocity        all create 300 7" in text
    assert "aniso 1.0 1.0" in text and " iso " not in text
    run = transport_input(["/m/0.pb"], TYPES, run_settings(), 600, crystal=True)
    assert "aniso 1.0 1.0" in run


def test_transport_npt_then_nvt_at_mean_box():
    text = transport_input(["/m/0.pb"], TYPES, run_settings(), 600)
    order = ["fix             npt all npt temp 600 600", "change_box", "fix             nvt all"]
    assert [text.index(s) for s in order] == sorted(text.index(s) for s in order)
    assert "dump            all all dcd 50 all.dcd" in text
    assert "dump            li li dcd 10 li.dcd" in text
    no_npt = transport_input(["/m/0.pb"], TYPES, run_settings(npt_steps=0), 600)
    assert "npt" not in no_npt and "nvt_box.txt" in no_npt


def _stand_in(text: str) -> str:
    """The same input with a Lennard-Jones stand-in for DeePMD (tests the MD protocol)."""
    text = re.sub(r"pair_style .*\n", "pair_style      lj/cut 5.0\n", text)
    return re.sub(r"pair_coeff .*\n", "pair_coeff      * * 0.1 2.0\n", text)


@pytest.mark.slow
def test_lammps_runs_nvt_at_the_npt_mean_box(tmp_path):
    """Real LAMMPS: the NVT frames have the mean NPT box, recorded in nvt_box.txt."""
    atoms = pack(solve(0.75, 32), 1.9, seed=0)
    text = _stand_in(transport_input(["m.pb"], TYPES, run_settings(), 600))
    run_guarded(atoms, text, TYPES, tmp_path, threads=1)
    state = npt_summary(tmp_path, 100)
    assert state["npt_records"] == 10
    assert abs(state["nvt_volume_A3"] - state["npt_volume_A3"]) < 3 * state["npt_volume_A3"] * (
        state["npt_density_std_g_cm3"] / state["npt_density_g_cm3"]
    )
    frames = list(read_dcd_frames(tmp_path / "all.dcd", atoms))
    assert len(frames) == 200 // 50 + 1
    assert all(f.get_volume() == pytest.approx(state["nvt_volume_A3"]) for f in frames)
    assert density(frames[0]) == pytest.approx(state["nvt_density_g_cm3"], rel=1e-4)


@pytest.mark.slow
def test_box_guard_stops_a_collapsing_run_then_constant_volume(tmp_path):
    """A collapsing NPT stops with BoxError; the fallback reruns at constant volume."""
    import logging

    atoms = pack(solve(0.75, 32), 1.9, seed=0)
    squeeze = run_settings(pressure=1e7)

    def make_input(npt):
        return _stand_in(transport_input(["m.pb"], TYPES, squeeze, 600, npt=npt))

    failed, code = run_npt_or_fallback(
        atoms, make_input, TYPES, tmp_path / "md", logging.getLogger("t"), threads=1
    )
    assert "box volume left" in failed  # the BoxError of the NPT run
    assert code == 0  # the constant-volume run went through
    assert (tmp_path / "md_npt_failed" / "stdout.txt").exists()
    state = npt_summary(tmp_path / "md")
    assert "npt_records" not in state
    assert state["nvt_volume_A3"] == pytest.approx(atoms.get_volume(), rel=1e-6)


def _lj_fcc_crystal():
    """fcc crystal (Lennard-Jones minimum spacing), P on the corners, S on the faces."""
    from ase.build import bulk

    a = 2 ** (1 / 6) * 2.0 * np.sqrt(2)
    cell = bulk("S", "fcc", a=a, cubic=True)
    cell[0].symbol = "P"
    return cell.repeat(3)


@pytest.mark.slow
def test_crystal_relaxed_then_melting_is_seen(tmp_path):
    """Real LAMMPS (Lennard-Jones stand-in): the crystal path relaxes without melting; a run
    far above its melting point is reported as molten by the structure analysis."""
    crystal = _lj_fcc_crystal()
    text = _stand_in(melt_quench_input(["m.pb"], TYPES, glass_settings(), crystal=True))
    run_guarded(crystal, text, TYPES, tmp_path / "relax", threads=1)
    relaxed = read_trajectory(tmp_path / "relax" / "glass.dump", TYPES)[-1]
    assert relaxed.get_volume() == pytest.approx(crystal.get_volume(), rel=0.15)
    ds = relaxed.get_scaled_positions() - crystal.get_scaled_positions()
    ds -= np.round(ds)  # glass.dump is wrapped: compare by minimum image
    assert np.sqrt(np.mean(np.sum((ds @ relaxed.cell.array) ** 2, axis=1))) < 0.5
    hot = run_settings(npt_steps=0, steps=1000, dump_all_every=250)
    text = _stand_in(transport_input(["m.pb"], TYPES, hot, 4000, crystal=True))
    run_guarded(relaxed, text, TYPES, tmp_path / "hot", threads=1)
    molten = analyse_run(read_dcd_frames(tmp_path / "hot" / "all.dcd", relaxed))
    assert molten["framework_flowed"], molten["p_rms_displacement_A"]


def test_extension_asks_for_the_run_needed_up_to_the_limit():
    short = {"diffusive": False, "run_needed_ps": 50.0}
    assert extension_ps(short, 10.0, 100.0) == pytest.approx(40.0)
    assert extension_ps(short, 10.0, 30.0) == pytest.approx(20.0)  # capped at the limit
    assert extension_ps({"diffusive": False, "run_needed_ps": 10.0}, 10.0, 100.0) == 10.0
    assert extension_ps({"diffusive": False, "run_needed_ps": 11.0}, 10.0, 100.0) == 2.5
    assert extension_ps({"diffusive": True, "run_needed_ps": 50.0}, 10.0, 100.0) == 0.0
    assert extension_ps(short, 10.0, 10.0) == 0.0  # limit reached (0 disables)


def test_model_devi_of_an_extension_appended_after_the_last_step(tmp_path):
    (tmp_path / "a.out").write_text("#  step max_devi_f\n0 0.1\n200 0.2\n")
    (tmp_path / "b.out").write_text("#  step max_devi_f\n200 0.2\n300 0.3\n400 0.4\n")
    append_model_devi(tmp_path / "a.out", tmp_path / "b.out")
    assert np.loadtxt(tmp_path / "a.out")[:, 0].tolist() == [0, 200, 300, 400]


def _recorded_run(tmp_path, run):
    """A recorded NVT run (Lennard-Jones stand-in, real LAMMPS) of a 32-atom cell at 300 K."""
    atoms = pack(solve(0.75, 32), 1.9, seed=0)
    text = _stand_in(transport_input(["m.pb"], TYPES, run, 300))
    assert run_guarded(atoms, text, TYPES, tmp_path, threads=1) == 0
    return atoms


def _check(**change) -> dict:
    """The diffusive check's settings (ProductionSettings.extension_check) of the analysis."""
    return {"fit_window": [0.05, 0.2], "beta_min": 0.9, "msd_min_A2": 6.0, **change}


@pytest.mark.slow
def test_non_diffusive_run_is_extended_from_its_last_frame_then_fitted(tmp_path):
    """Real LAMMPS: a run that is not diffusive (MSD limit out of reach) is continued from its
    restart up to extend_up_to_ps; the DCDs grow without a jump at the join and the transport
    analysis reads the whole run."""
    import logging

    from lpsflow.transport import analyze_run, read_dcd

    run = run_settings(npt_steps=0, extend_up_to_ps=0.6)
    atoms = _recorded_run(tmp_path, run)
    before = read_dcd(str(tmp_path / "li.dcd"))
    check = _check(msd_min_A2=1e6)  # never diffusive

    def make_input(steps, restart):
        return _stand_in(extension_input(["m.pb"], TYPES, run, 300, steps, restart))

    done = extend_until_diffusive(
        atoms, make_input, TYPES, tmp_path, run, check, logging.getLogger("t"), threads=1
    )
    assert done["segments"] == 1 and not done["diffusive"] and not done["extension_failed"]
    assert done["recorded_ps"] == pytest.approx(0.6) and done["extended_ps"] == pytest.approx(0.4)
    li = read_dcd(str(tmp_path / "li.dcd"))
    assert len(li) == 600 // 10 + 1 and np.array_equal(li[: len(before)], before)
    steps = np.linalg.norm(np.diff(li, axis=0), axis=2)  # A per 10 fs, unwrapped
    join = steps[len(before) - 1]
    assert join.max() < 3 * np.percentile(steps, 99) and join.max() < 2.0  # no jump, no wrap
    assert len(read_dcd(str(tmp_path / "all.dcd"))) == 600 // 50 + 1
    summary, _ = analyze_run(
        str(tmp_path / "li.dcd"), atoms.get_chemical_symbols(), atoms.get_volume(), 300, 0.01
    )
    assert summary["run_ps"] == pytest.approx(0.6)


@pytest.mark.slow
def test_diffusive_run_is_not_extended(tmp_path):
    import logging

    run = run_settings(npt_steps=0, extend_up_to_ps=0.6)
    atoms = _recorded_run(tmp_path, run)
    check = _check(beta_min=1e-3, msd_min_A2=0.0)  # any motion counts as diffusive
    done = extend_until_diffusive(
        atoms, lambda s, r: "", TYPES, tmp_path, run, check, logging.getLogger("t"), threads=1
    )
    assert done["segments"] == 0 and done["extended_ps"] == 0.0 and done["diffusive"]


@pytest.mark.slow
def test_glass_melted_at_pressure_and_quench_recorded(tmp_path):
    """Real LAMMPS (Lennard-Jones stand-in): the melt runs NPT (the box moves from the packing
    volume before the quench) and quench.dat holds T falling from the melt to quench_to with
    the volume and density, one block average per devi_every steps (what the Tg fit reads)."""
    from lpsflow.glass_transition import read_quench

    atoms = pack(solve(0.75, 32), 1.9, seed=0)
    settings = glass_settings(melt_steps=200, quench_rate=1400)  # 500 steps
    text = _stand_in(melt_quench_input(["m.pb"], TYPES, settings))
    assert run_guarded(atoms, text, TYPES, tmp_path, threads=1) == 0
    data = np.loadtxt(tmp_path / "quench.dat", ndmin=2)
    assert len(data) == settings.quench_steps // settings.devi_every == 50
    t, rho = read_quench(tmp_path / "quench.dat")
    assert t[0] > 800 and t[-1] < 500 and np.all(np.isfinite(rho))
    ramp = 1000 - 700 * (np.arange(50) + 0.5) / 50  # target T, block centres (K)
    assert t == pytest.approx(ramp, abs=8) and data[:, 1] == pytest.approx(ramp, abs=400)
    assert data[0, 2] != pytest.approx(atoms.get_volume(), rel=1e-3)  # NPT melt moved the box
    assert rho == pytest.approx(density(atoms) * atoms.get_volume() / data[:, 2], rel=1e-3)


def test_extension_check_enters_the_md_only_when_runs_are_extended():
    """Only science reruns science: with extend_up_to_ps 0 the diffusive limits do not reach
    run_production's params (editing them reruns the analysis, not the MD)."""
    from lpsflow.settings import FitSettings, ProductionSettings

    fit = dict(dump_every=10, dump_all_every=50, timestep_fs=1.0, fit_window=[0.05, 0.2])
    fit.update(n_blocks=5, beta_min=0.9, msd_min_A2=6.0, haven_ratio=1.0, trust_hi=1.0)
    fit = FitSettings.pick(fit)

    def prod(limit):
        run = run_settings(extend_up_to_ps=limit)
        return ProductionSettings(glass_settings(), run, fit, [600], 1, 1)

    assert prod(0.0).extension_check() == {}
    assert prod(20.0).extension_check() == {
        "fit_window": [0.05, 0.2],
        "beta_min": 0.9,
        "msd_min_A2": 6.0,
    }
