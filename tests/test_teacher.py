"""Teacher ground truth: ASE MD dump read by the transport code, speeds, teacher vs DP."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ase import Atoms

from lpsflow.teacher import Z95, compare, lammps_speed, run_teacher_md, write_dump_frame
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


def test_teacher_md_runs_nvt_and_times_itself(tmp_path):
    """A few NVT steps of Li2S-like atoms with a cheap ASE calculator (EMT-free: LJ)."""
    from ase.calculators.lj import LennardJones

    rng = np.random.default_rng(0)
    grid = np.array([[i, j, k] for i in range(3) for j in range(3) for k in range(3)], float)
    atoms = Atoms(
        ["Li", "Li", "S"] * 9, positions=grid * 2.5 + rng.normal(0, 0.05, (27, 3)), cell=[7.5] * 3
    )
    atoms.pbc = True
    calc = LennardJones(sigma=2.0, epsilon=0.01, rc=3.5, smooth=True)
    speed = run_teacher_md(
        atoms,
        calc,
        600.0,
        timestep_fs=1.0,
        equilibration_steps=10,
        steps=40,
        dump_every=10,
        seed=1,
        dump_path=tmp_path / "li.dump",
        type_map=["Li", "P", "S"],
        final_path=tmp_path / "final.extxyz",
    )
    assert speed["md_steps"] == 50 and speed["n_atoms"] == 27
    assert speed["atom_steps_per_s"] > 0 and 100 < speed["mean_temperature_K"] < 2000
    lags, msd = msd_from_dump(str(tmp_path / "li.dump"), 0.01)
    assert msd.shape == (5, 18) and np.all(msd[1:].mean(axis=1) > 0)
    fit = fit_diffusion(lags, msd, window=(0.2, 1.0))
    assert fit["D_cm2_s"] > 0


def test_report_section_states_agreement(tmp_path, li3ps4_8):
    import json

    from lpsflow.glass_structure import analyse
    from lpsflow.report import teacher_section

    teacher = _table([1.0e-5, 2.0e-5], [0.1e-5, 0.1e-5])
    dp = _table([1.2e-5, 2.5e-5], [0.1e-5, 0.1e-5])
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
    config = {"dft": {"model": "chgnet-0.3.0"}}
    section = teacher_section(inp, {"A": structure}, arr, config)
    assert not section["all_agree"] and section["n_agree"] == 1 and section["n_compared"] == 2
    assert section["disagree"] == "A 1000 K"
    assert "8000" in section["speed"] and "80" in section["speed"]
    assert teacher_section({"summary": "x"}, {}, arr, config) is None  # DFT campaign: no section


def test_teacher_rules_only_when_teacher_labels(tmp_path):
    from conftest import run_workflow, shipped

    teacher = run_workflow(tmp_path / "t", shipped("demo.yaml"), "-n")
    assert "teacher_md" in teacher.stdout and "summarize_teacher" in teacher.stdout
    dft = run_workflow(tmp_path / "d", shipped("demo-cp2k.yaml"), "-n")
    assert "label_frame" in dft.stdout and "teacher_md" not in dft.stdout
