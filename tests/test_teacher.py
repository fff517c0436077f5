"""Teacher ground truth: ASE MD dump read by the transport code, speeds, teacher vs DP."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ase import Atoms, units
from conftest import lj_cell

from lpsflow.teacher import (
    Z95,
    compare,
    errors_on_test_set,
    lammps_speed,
    pooled_ratio,
    read_test_set,
    run_teacher_md,
    spaced_blocks,
    write_dump_frame,
)
from lpsflow.transport import fit_diffusion, msd_from_dump


def test_dump_is_read_unwrapped_by_transport_code(tmp_path):
    """Positions leaving the box stay unwrapped through write_dump_frame -> msd_from_dump."""
    atoms = Atoms("Li2S", positions=[[1, 1, 1], [2, 2, 2], [3, 3, 3]], cell=[5, 5, 5], pbc=True)
    li = np.array(atoms.get_chemical_symbols()) == "Li"
    path = tmp_path / "li.dump"
    with open(path, "w") as fh:
        for step in range(5):
            write_dump_frame(fh, step, atoms, li, ["Li", "P", "S"])
            atoms.positions[li] += [2.0, 0.0, 0.0]  # walks out of the 5 A box
    lags, msd = msd_from_dump(str(path), 0.01)
    assert msd.shape == (5, 2)
    assert np.allclose(msd[:, 0], (2.0 * np.arange(5)) ** 2)  # 8 A travelled: not wrapped


def test_lammps_speed_sums_loop_times(tmp_path):
    log = tmp_path / "log.lammps"
    log.write_text(
        "Loop time of 2.0 on 1 procs for 500 steps with 48 atoms\n\n"
        "Loop time of 6.0 on 1 procs for 1500 steps with 48 atoms\n"
    )
    speed = lammps_speed(log)
    assert speed["md_steps"] == 2000 and speed["md_wall_s"] == 8.0
    assert speed["atom_steps_per_s"] == pytest.approx(48 * 2000 / 8.0)


def _table(d, d_err):
    return pd.DataFrame(
        {
            "composition": ["A", "A"],
            "temperature_K": [800.0, 1000.0],
            "D_cm2_s": d,
            "D_err_cm2_s": d_err,
            "sigma_S_cm": np.array(d) * 1e5,
            "sigma_err_S_cm": np.array(d_err) * 1e5,
        }
    )


def test_compare_uses_combined_95_interval():
    teacher = _table([1.0e-5, 2.0e-5], [0.1e-5, 0.1e-5])
    dp = _table([1.2e-5, 2.5e-5], [0.1e-5, 0.1e-5])
    out = compare(dp, teacher)
    half = Z95 * np.hypot(0.1e-5, 0.1e-5)  # 0.277e-5
    assert out["D_halfwidth95"].iloc[0] == pytest.approx(half)
    assert out["D_agrees"].tolist() == [True, False]  # 0.2e-5 inside, 0.5e-5 outside
    assert out["sigma_agrees"].tolist() == [True, False]
    assert out["D_ratio"].iloc[1] == pytest.approx(1.25)
    assert "volume_ratio" not in out  # no volumes given
    dp["volume_A3"], teacher["volume_A3"] = [1340.0, 1200.0], [1000.0, 1000.0]
    assert compare(dp, teacher)["volume_ratio"].tolist() == pytest.approx([1.34, 1.2])


def _biased(bias: float, rel_err: float, noise: float, n: int = 6, seed: int = 0):
    """Teacher and DP tables of n points: DP = bias x teacher x lognormal(noise); both sides
    state a relative error ``rel_err``."""
    rng = np.random.default_rng(seed)
    temps = np.linspace(600.0, 1100.0, n)
    d_t = 1e-5 * np.exp(-2000 / temps)
    teacher = pd.DataFrame(
        {
            "composition": "A",
            "temperature_K": temps,
            "D_cm2_s": d_t,
            "D_err_cm2_s": rel_err * d_t,
            "sigma_S_cm": d_t * 1e5,
            "sigma_err_S_cm": rel_err * d_t * 1e5,
        }
    )
    factor = bias * np.exp(noise * rng.normal(size=n))
    dp = teacher.assign(
        D_cm2_s=d_t * factor,
        sigma_S_cm=d_t * 1e5 * factor,
        D_err_cm2_s=rel_err * d_t * factor,
        sigma_err_S_cm=rel_err * d_t * 1e5 * factor,
    )
    return compare(dp, teacher)


def test_pooled_ratio_recovers_a_known_bias():
    """DP = 0.8 x teacher at 8 points, 10 % errors on each side and the scatter they imply:
    most per-point verdicts pass, the pooled ratio's interval holds 0.8 and lies below 1."""
    table = _biased(0.8, 0.10, np.sqrt(2) * 0.10, n=8)
    assert table["sigma_agrees"].sum() >= 6  # the per-point verdicts mostly hide the bias
    assert (table["sigma_ratio_lo95"] > 0).all()
    assert (table["sigma_ratio_lo95"] < table["sigma_ratio"]).all()
    assert (table["sigma_ratio"] < table["sigma_ratio_hi95"]).all()
    bias = pooled_ratio(table).set_index("quantity")
    for q in ("D", "sigma"):
        row = bias.loc[q]
        assert row["n_points"] == 8 and row["pooled_ratio_lo95"] < 0.8 < row["pooled_ratio_hi95"]
        assert row["pooled_ratio"] == pytest.approx(0.8, rel=0.1)
        assert row["pooled_ratio_hi95"] < 1 and row["verdict"] == "DP low"
    unbiased = pooled_ratio(_biased(1.0, 0.10, np.sqrt(2) * 0.10, n=8)).set_index("quantity")
    assert unbiased.loc["D", "verdict"] == "no bias resolved"
    one = pooled_ratio(_biased(0.8, 0.1, 0.1, n=1)).iloc[0]
    assert one["verdict"] == "too few points" and np.isnan(one["pooled_ratio_lo95"])


def test_pooled_interval_is_no_sharper_than_the_points_errors():
    """Points that agree far more closely (1 %) than their stated 30 % errors: the interval
    comes from the errors, sqrt(sum s_i^2) / n, not from the scatter."""
    table = _biased(0.9, 0.30, 0.01, n=5)
    row = pooled_ratio(table).set_index("quantity").loc["sigma"]
    s = np.sqrt(2 * np.log1p(0.3**2))  # per point, both sides
    assert row["se_errors"] == pytest.approx(s / np.sqrt(5), rel=1e-6)
    assert row["se_errors"] > 10 * row["se_scatter"]
    assert row["pooled_ratio_lo95"] < 0.9 * np.exp(-2 * row["se_errors"])
    assert row["verdict"] == "no bias resolved"


def _lj_cell():
    return lj_cell(spacing=2.5, noise=0.05, seed=0)


def test_blocks_are_evenly_spaced_and_end_at_the_last():
    assert spaced_blocks(10, 5) == {1, 3, 5, 7, 9}
    assert spaced_blocks(10, 1) == {9}
    assert spaced_blocks(3, 20) == {0, 1, 2}  # never more frames than blocks
    assert spaced_blocks(10, 0) == set() and spaced_blocks(0, 5) == set()


def _run_lj(tmp_path, **settings) -> dict:
    """The teacher's MD of the LJ cell at 600 K (40 recorded steps, 1 fs) into ``tmp_path``."""
    atoms, calc = _lj_cell()
    return run_teacher_md(
        atoms,
        calc,
        600.0,
        timestep_fs=1.0,
        steps=40,
        seed=1,
        dump_path=tmp_path / "li.dump",
        type_map=["Li", "P", "S"],
        **settings,
    )


def test_teacher_md_runs_nvt_and_times_itself(tmp_path):
    """A few NVT steps of Li2S-like atoms with a cheap ASE calculator (EMT-free: LJ)."""
    speed = _run_lj(
        tmp_path, equilibration_steps=10, dump_every=10, final_path=tmp_path / "final.extxyz"
    )
    assert speed["md_steps"] == 50 and speed["n_atoms"] == 27
    assert speed["atom_steps_per_s"] > 0 and 100 < speed["mean_temperature_K"] < 2000
    lags, msd = msd_from_dump(str(tmp_path / "li.dump"), 0.01)
    assert msd.shape == (5, 18) and np.all(msd[1:].mean(axis=1) > 0)
    fit = fit_diffusion(lags, msd, window=(0.2, 1.0))
    assert fit["D_cm2_s"] > 0


def test_teacher_npt_runs_at_its_own_mean_box(tmp_path):
    """As the DP production: NPT, then NVT in the mean NPT box, whose volume follows the
    pressure (higher pressure, smaller box); the sigma of the run uses that volume."""
    from ase.io import read

    runs = {}
    for bar in (1.0, 1e4):
        folder = tmp_path / f"p{bar:g}"
        folder.mkdir()
        runs[bar] = _run_lj(
            folder,
            equilibration_steps=10,
            dump_every=10,
            npt_steps=400,
            pressure_bar=bar,
            final_path=folder / "final.extxyz",
        )
        final = read(folder / "final.extxyz")
        assert runs[bar]["md_steps"] == 450  # NPT + equilibration + recorded
        assert final.get_volume() == pytest.approx(runs[bar]["npt_volume_A3"])
        assert runs[bar]["volume_A3"] == pytest.approx(runs[bar]["npt_volume_A3"])
        assert runs[bar]["start_volume_A3"] == pytest.approx(7.5**3)
    assert runs[1e4]["npt_volume_A3"] < 0.9 * runs[1.0]["npt_volume_A3"]
    assert runs[1e4]["npt_pressure_GPa"] > runs[1.0]["npt_pressure_GPa"]


def test_teacher_damping_times_are_taken_in_fs(tmp_path):
    """Damping given in fs: 100 and 1000 fs at a 1 fs step is the default run, bit for bit;
    other damping times change the run (the thermostat and barostat use them)."""
    runs = {}
    for name, damping in (("default", None), ("same", (100.0, 1000.0)), ("tight", (30.0, 400.0))):
        folder = tmp_path / name
        folder.mkdir()
        runs[name] = _run_lj(
            folder, equilibration_steps=10, dump_every=10, npt_steps=100, damping_fs=damping
        )
        runs[name]["dump"] = (folder / "li.dump").read_text()
    assert runs["same"]["dump"] == runs["default"]["dump"]
    assert runs["same"]["npt_volume_A3"] == runs["default"]["npt_volume_A3"]
    assert runs["tight"]["dump"] != runs["default"]["dump"]
    assert runs["tight"]["npt_volume_A3"] != runs["default"]["npt_volume_A3"]


def test_teacher_npt_stops_when_the_box_explodes(tmp_path):
    with pytest.raises(RuntimeError, match="collapses or explodes"):
        _run_lj(tmp_path, equilibration_steps=0, dump_every=10, npt_steps=400, pressure_bar=-3e4)


def test_teacher_md_keeps_a_labelled_test_set(tmp_path):
    """Test frames carry the teacher's energy, forces and stress of their own positions
    (not a later frame's: MD moves the atoms in place), as a virial = -stress x V."""
    from ase.io import read

    _run_lj(
        tmp_path,
        equilibration_steps=0,
        dump_every=5,
        test_path=tmp_path / "frames.extxyz",
        test_frames=4,
    )
    frames = read(tmp_path / "frames.extxyz", ":")
    assert len(frames) == 4
    assert len({round(f.get_potential_energy(), 10) for f in frames}) == 4  # distinct frames
    _, fresh = _lj_cell()
    for frame in frames:
        ref = frame.copy()
        ref.calc = fresh
        assert frame.get_potential_energy() == pytest.approx(ref.get_potential_energy(), abs=1e-8)
        assert np.allclose(frame.get_forces(), ref.get_forces(), atol=1e-8)
        assert np.allclose(frame.get_stress(), ref.get_stress(), atol=1e-10)
    system = read_test_set(tmp_path / "frames.extxyz")
    assert len(system) == 4 and system.get_natoms() == 27
    stress = frames[2].get_stress(voigt=False)
    assert np.allclose(system["virials"][2], -stress * frames[2].get_volume())
    assert np.allclose(system["forces"][3], frames[3].get_forces())


@pytest.mark.slow
def test_every_iteration_scored_on_the_same_test_set(local_campaign, tmp_path):
    """errors_on_test_set scores every model of every iteration on the teacher frames; its RMSE
    is the one computed directly from DeePMD's predictions."""
    import dpdata
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    from lpsflow.evaluation import predict

    data = sorted((local_campaign / "results/iter_001/data/test").glob("**/type_map.raw"))[0]
    frames = dpdata.LabeledSystem(str(data.parent), fmt="deepmd/npy").to("ase/structure")
    labelled = []
    for i, f in enumerate(frames):  # made-up teacher labels: the arithmetic is what is tested
        f.calc = SinglePointCalculator(
            f,
            energy=-3.0 * len(f) + 0.1 * i,
            forces=np.full((len(f), 3), 0.05 * (i + 1)),
            stress=np.full(6, 0.001),
        )
        labelled.append(f)
    test = tmp_path / "teacher/LPS75/T800/frames.extxyz"
    test.parent.mkdir(parents=True)
    write(test, labelled, format="extxyz")
    graphs = sorted(str(p) for p in local_campaign.glob("results/iter_*/train/model_*/graph.pb"))
    n_models = len(list(local_campaign.glob("results/iter_000/train/model_*/graph.pb")))
    run = {"composition": "LPS75", "temperature_K": 800.0}
    table = errors_on_test_set(graphs, n_models, [str(test)], [run])
    assert len(table) == len(graphs) and set(table["iteration"]) == {0, 1}
    assert (table["composition"] == "LPS75").all() and (table["temperature_K"] == 800).all()
    system = read_test_set(test)
    pred = predict(graphs[-1], system)
    rmse_f = np.sqrt(np.mean((pred["forces"] - system["forces"]) ** 2))
    assert table.iloc[-1]["rmse_f"] == pytest.approx(rmse_f, rel=1e-6)
    assert table.iloc[-1]["frames"] == len(labelled)
    # the pressure bias from the model's virial and ASE's stress of the same frames (GPa)
    p_label = np.array([-np.trace(f.get_stress(voigt=False)) / 3 for f in labelled])
    p_model = np.einsum("fii->f", pred["virials"]) / 3 / [f.get_volume() for f in labelled]
    diff = (p_model - p_label) / units.GPa
    assert table.iloc[-1]["bias_p_GPa"] == pytest.approx(diff.mean(), rel=1e-6)
    assert table.iloc[-1]["bias_p_err_GPa"] == pytest.approx(
        diff.std(ddof=1) / np.sqrt(len(diff)), rel=1e-6
    )


def _test_rmse(rmse_f: list, **columns) -> pd.DataFrame:
    """A test_rmse.csv table: iterations 0 and 1, members 0 and 1, 800 K (10 frames) and
    1000 K (30 frames), in that order; ``columns`` add or replace columns."""
    return pd.DataFrame(
        {
            "iteration": [0, 0, 0, 0, 1, 1, 1, 1],
            "model": [0, 0, 1, 1, 0, 0, 1, 1],
            "composition": ["A"] * 8,
            "temperature_K": [800.0, 1000.0] * 4,
            "frames": [10, 30] * 4,
            "rmse_e": [0.01] * 8,
            "rmse_f": rmse_f,
            "rmse_v": [0.02] * 8,
            **columns,
        }
    )


def test_report_pools_test_rmse_over_temperatures_by_frame():
    from lpsflow.report import teacher_test_table

    rmse = _test_rmse([0.4, 0.8, 0.4, 0.8, 0.2, 0.2, 0.1, 0.3])
    table = teacher_test_table(rmse).set_index("iteration")
    pooled = np.sqrt((10 * 0.4**2 + 30 * 0.8**2) / 40)
    assert table.loc[0, "rmse_f"] == pytest.approx(pooled) and table.loc[0, "rmse_f_sd"] == 0
    member_1 = np.sqrt((10 * 0.1**2 + 30 * 0.3**2) / 40)
    assert table.loc[1, "rmse_f"] == pytest.approx((0.2 + member_1) / 2)
    assert table.loc[1, "frames"] == 40 and table.loc[0, "rmse_e"] == pytest.approx(0.01)


def test_pressure_bias_is_the_ase_pressure_difference_on_the_same_frames():
    """pressure_differences uses dpdata's virial (-stress x V) and gives, per frame, the model's
    pressure minus the label's, as ASE's -trace(stress)/3 of each would; the bias is their mean
    with the standard error over frames."""
    from ase.calculators.lj import LennardJones

    from lpsflow.evaluation import pressure_bias, pressure_differences

    frames, label_v, model_v, expected = [], [], [], []
    for k, scale in enumerate([0.85, 0.9, 0.95]):
        atoms, _ = lj_cell(seed=k)
        atoms.set_cell(atoms.cell * scale, scale_atoms=True)
        teacher = LennardJones(sigma=2.0, epsilon=0.01, rc=3.5, smooth=True)
        model = LennardJones(sigma=2.2, epsilon=0.01, rc=3.5, smooth=True)  # larger atoms
        stresses = []
        for calc in (teacher, model):
            atoms.calc = calc
            stresses.append(atoms.get_stress(voigt=False))
        v = atoms.get_volume()
        label_v.append(-stresses[0] * v)
        model_v.append(-stresses[1] * v)
        expected.append((np.trace(stresses[0]) - np.trace(stresses[1])) / 3 / units.GPa)
        frames.append(np.asarray(atoms.cell))
    diff = pressure_differences(np.array(model_v), np.array(label_v), np.array(frames))
    assert diff == pytest.approx(expected, rel=1e-9)
    assert (diff > 0).all()  # larger atoms push outwards: the model's box would come out larger
    bias = pressure_bias(diff)
    assert bias["bias_p_GPa"] == pytest.approx(np.mean(expected))
    assert bias["bias_p_err_GPa"] == pytest.approx(np.std(expected, ddof=1) / np.sqrt(3))
    assert np.isnan(pressure_bias(diff[:1])["bias_p_err_GPa"])
    assert np.isnan(pressure_bias([])["bias_p_GPa"])


def test_report_pressure_bias_per_iteration_and_last_iteration_table():
    from lpsflow.report import pressure_bias_table, teacher_test_table

    rmse = _test_rmse(
        [0.2] * 8,
        bias_p_GPa=[0.8, 0.4, 0.6, 0.4, 0.3, 0.1, 0.1, 0.1],
        bias_p_err_GPa=[0.02, 0.04, 0.02, 0.04, 0.01, 0.03, 0.03, 0.05],
    )
    per_iteration = teacher_test_table(rmse).set_index("iteration")["bias_p_GPa"]
    member_0 = (10 * 0.8 + 30 * 0.4) / 40  # frame-weighted over the temperatures
    member_1 = (10 * 0.6 + 30 * 0.4) / 40
    assert per_iteration[0] == pytest.approx((member_0 + member_1) / 2)
    assert per_iteration[1] == pytest.approx(((10 * 0.3 + 30 * 0.1) / 40 + 0.1) / 2)
    comparison = pd.DataFrame(
        {"composition": ["A", "A"], "temperature_K": [800.0, 1000.0], "volume_ratio": [1.2, 1.0]}
    )
    last = pressure_bias_table(rmse, comparison).set_index("temperature_K")
    assert last.loc[800.0, "bias_p_GPa"] == pytest.approx(0.2)  # iteration 1 only
    assert last.loc[800.0, "bias_p_err_GPa"] == pytest.approx(0.02)
    assert last.loc[1000.0, "volume_ratio"] == 1.0 and last.loc[1000.0, "frames"] == 30
    assert pressure_bias_table(rmse.drop(columns=["bias_p_GPa"]), comparison).empty


def test_report_section_states_agreement(tmp_path, li3ps4_8):
    import json

    from lpsflow.glass_structure import analyse
    from lpsflow.report import teacher_section

    teacher = _table([1.0e-5, 2.0e-5], [0.1e-5, 0.1e-5])
    dp = _table([1.2e-5, 2.5e-5], [0.1e-5, 0.1e-5])
    dp["volume_A3"], teacher["volume_A3"] = [1340.0, 1020.0], [1000.0, 1000.0]
    compare(dp, teacher).to_csv(tmp_path / "comparison.csv", index=False)
    arr = pd.DataFrame([{"composition": "A", "Ea_eV": 0.3, "Ea_lo_eV": 0.2, "Ea_hi_eV": 0.4}])
    arr.to_csv(tmp_path / "arrhenius.csv", index=False)
    speed = pd.DataFrame(
        [
            {
                "composition": "A",
                "run": "T800",
                "engine": "teacher",
                "n_atoms": 8,
                "md_steps": 100,
                "md_wall_s": 10.0,
                "atom_steps_per_s": 80.0,
            },
            {
                "composition": "A",
                "run": "T800",
                "engine": "deepmd",
                "n_atoms": 8,
                "md_steps": 1000,
                "md_wall_s": 1.0,
                "atom_steps_per_s": 8000.0,
            },
        ]
    )
    speed.to_csv(tmp_path / "speed.csv", index=False)
    (tmp_path / "A").mkdir()
    structure = analyse(li3ps4_8, rmax=3.2)
    (tmp_path / "A" / "structure.json").write_text(json.dumps(structure))
    inp = {
        "teacher_comparison": tmp_path / "comparison.csv",
        "teacher_arrhenius": tmp_path / "arrhenius.csv",
        "teacher_speed": tmp_path / "speed.csv",
        "teacher_structure": [tmp_path / "A" / "structure.json"],
    }
    config = {"dft": {"engine": "mlip", "physics": {"model": "chgnet-0.3.0"}}}  # S.science()
    assert teacher_section(inp, {"A": structure}, arr, config, ["A"])["eos"] is None  # no test set
    test = _table([1e-5, 2e-5], [0, 0])[["composition", "temperature_K"]].assign(
        iteration=0, model=0, frames=20, rmse_e=0.01, rmse_f=0.2, rmse_v=0.02
    )
    test.assign(bias_p_GPa=[0.31, -0.05], bias_p_err_GPa=0.02).to_csv(
        tmp_path / "test_rmse.csv", index=False
    )
    inp["teacher_test"] = tmp_path / "test_rmse.csv"
    section = teacher_section(inp, {"A": structure}, arr, config, ["A"])
    eos = section["eos"].replace("<wbr>", "")
    assert "bias_p_GPa" in eos and "0.31" in eos and "1.34" in eos
    assert section["model"] == "chgnet-0.3.0"
    assert section["volume_ratio"] == "1.34-1.34"  # only the box more than 5 % off
    assert not section["all_agree"] and section["n_agree"] == 1 and section["n_compared"] == 2
    assert section["n_agree_d"] == 1  # D: 1.2 vs 1.0 +- 0.14 agrees, 2.5 vs 2.0 does not
    assert section["disagree"] == "A 1000 K"
    assert "8000" in section["speed"] and "80" in section["speed"]
    assert (
        teacher_section({"summary": "x"}, {}, arr, config, []) is None
    )  # DFT campaign: no section


def test_teacher_rules_only_when_teacher_labels(tmp_path):
    from conftest import run_workflow, shipped

    teacher = run_workflow(tmp_path / "t", shipped("demo.yaml"), "-n")
    assert "teacher_md" in teacher.stdout and "summarize_teacher" in teacher.stdout
    dft = run_workflow(tmp_path / "d", shipped("demo-cp2k.yaml"), "-n")
    assert "label_frame" in dft.stdout and "teacher_md" not in dft.stdout
