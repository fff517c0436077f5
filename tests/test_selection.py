import numpy as np
import pandas as pd
import pytest

from lpsflow.lammps_output import read_model_devi
from lpsflow.selection import (
    classify,
    farthest_points,
    loop_status,
    pick,
    ratios,
)

HEADER = (
    "#       step         max_devi_v         min_devi_v         avg_devi_v"
    "         max_devi_f         min_devi_f         avg_devi_f\n"
)


@pytest.fixture
def model_devi(tmp_path):
    """10 records: 4 accurate (< 0.15), 3 candidates, 3 failed (>= 0.35)."""
    devi_f = [0.01, 0.05, 0.149, 0.10, 0.15, 0.2, 0.349, 0.35, 0.9, 5.0]
    lines = [f"{10 * i:12d} 0.1 0.0 0.05 {f:.6e} 0.0 {f / 2:.6e}\n" for i, f in enumerate(devi_f)]
    path = tmp_path / "model_devi.out"
    path.write_text(HEADER + "".join(lines))
    return path


def test_read_and_classify_known_counts(model_devi):
    table = read_model_devi(model_devi)
    assert list(table.columns[:2]) == ["step", "max_devi_v"] and len(table) == 10
    classes = classify(table["max_devi_f"], 0.15, 0.35)
    assert dict(pd.Series(classes).value_counts()) == {"accurate": 4, "candidate": 3, "failed": 3}
    assert classes[4] == "candidate" and classes[7] == "failed"  # boundaries: [lo, hi)


def test_trust_levels_must_be_ordered():
    with pytest.raises(ValueError, match="trust_lo"):
        classify(np.array([0.1]), 0.3, 0.3)


def test_farthest_points_spreads():
    # two tight clusters and one outlier: FPS from index 0 visits the outlier and the other cluster
    feats = np.array([[0, 0], [0.01, 0], [0, 0.01], [10, 10], [10.01, 10], [100, 0]], float)
    chosen = set(farthest_points(feats, 3, start=0))
    assert {0, 5} <= chosen and len(chosen & {3, 4}) == 1


def test_pick_methods():
    rng = np.random.default_rng(0)
    devi = np.array([0.2, 0.3, 0.25, 0.21, 0.22])
    feats = np.arange(10.0).reshape(5, 2)
    assert pick(devi, 10, "fps", rng, feats) == [0, 1, 2, 3, 4]
    fps = pick(devi, 2, "fps", rng, feats)
    assert fps == [1, 4]  # start at the largest deviation, then the farthest frame
    rand = pick(devi, 3, "random", np.random.default_rng(1))
    assert len(set(rand)) == 3 and rand == pick(devi, 3, "random", np.random.default_rng(1))
    with pytest.raises(ValueError):
        pick(devi, 2, "best", rng, feats)


def test_ratios_and_status():
    table = pd.DataFrame(
        {
            "composition": ["a"] * 4 + ["b"] * 2,
            "class": ["accurate", "accurate", "candidate", "failed", "accurate", "accurate"],
        }
    )
    per = ratios(table, ["composition"]).set_index("composition")
    assert per.loc["a", "accurate_ratio"] == 0.5 and per.loc["a", "failed"] == 1
    assert per.loc["b", "accurate_ratio"] == 1.0 and per.loc["b", "candidate"] == 0
    per = per.reset_index()
    assert loop_status(per, 0.95, n_selected=1) == "continue"
    assert loop_status(per, 0.5, n_selected=1) == "converged"
    assert loop_status(per, 0.95, n_selected=0) == "stalled"  # failed frames, nothing to label
    ok = per.assign(failed=0)
    assert loop_status(ok, 0.95, n_selected=0) == "converged"


def test_non_finite_deviation_is_failed():
    """DP-GEN never trusts a non-finite deviation; a NaN or inf virial deviation is failed."""
    f = np.array([0.05, 0.05, 0.2, np.nan, np.inf, 0.05])
    v = np.array([0.01, np.inf, np.nan, 0.01, 0.01, -np.inf])
    assert list(classify(f, 0.15, 0.35, max_devi_v=v)) == [
        "accurate",
        "failed",
        "failed",
        "failed",
        "failed",
        "failed",
    ]


def dpgen_standard(f, v, f_lo, f_hi, v_lo, v_hi):
    """DP-GEN's _select_by_model_devi_standard decision for one finite record (reference)."""
    if (v_lo <= v < v_hi) or (f_lo <= f < f_hi):
        return "candidate"
    if v >= v_hi or f >= f_hi:
        return "failed"
    return "accurate"


def test_virial_trust_levels_match_dpgen():
    rng = np.random.default_rng(0)
    f = np.concatenate([rng.uniform(0, 0.5, 200), [0.15, 0.35, 0.1, 0.2, 0.4]])
    v = np.concatenate([rng.uniform(0, 0.1, 200), [0.0, 0.0, 0.02, 0.08, 0.03]])
    got = classify(f, 0.15, 0.35, max_devi_v=v, trust_lo_v=0.02, trust_hi_v=0.05)
    want = [dpgen_standard(a, b, 0.15, 0.35, 0.02, 0.05) for a, b in zip(f, v, strict=True)]
    assert list(got) == want
    # boundaries: f exactly at trust_lo and v exactly at trust_lo_v are candidates; a frame
    # whose force is a candidate stays one even if its virial is failed (DP-GEN's order)
    assert list(got[-5:]) == ["candidate", "failed", "candidate", "candidate", "candidate"]
    # without virial levels the virial deviation is ignored (plain DP-GEN with v levels 1e10)
    plain = classify(f, 0.15, 0.35, max_devi_v=v)
    reference = [dpgen_standard(a, b, 0.15, 0.35, 1e10, 1e10) for a, b in zip(f, v, strict=True)]
    assert list(plain) == reference


def test_virial_levels_need_both_and_order():
    with pytest.raises(ValueError, match="both"):
        classify(np.array([0.1]), 0.15, 0.35, np.array([0.1]), trust_lo_v=0.1)
    with pytest.raises(ValueError, match="trust_lo_v"):
        classify(np.array([0.1]), 0.15, 0.35, np.array([0.1]), 0.2, 0.1)


def _explored_run(tmp_path, model_devi) -> dict:
    """One exploration job of 10 frames (4 atoms) with the deviations of ``model_devi``."""
    from ase import Atoms

    from lpsflow.teacher import write_dump_frame

    atoms = Atoms("Li2PS", positions=[[0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 0, 2]], cell=[6] * 3)
    atoms.pbc = True
    everyone = np.ones(4, bool)
    with open(tmp_path / "traj.dump", "w") as fh:
        for k in range(10):
            write_dump_frame(fh, 10 * k, atoms, everyone, ["Li", "P", "S"])
            atoms.positions[0] += 0.1
    return {
        "composition": "A",
        "job": 0,
        "temperature": 600,
        "devi": model_devi,
        "traj": tmp_path / "traj.dump",
    }


def _settings(method: str):
    """Trust levels 0.15/0.35 eV/A, up to 8 frames, seed 0, with selection ``method``."""
    from lpsflow.settings import SelectSettings

    return SelectSettings(
        trust_mode="absolute",
        trust_lo=0.15,
        trust_hi=0.35,
        relative_level=1.0,
        max_per_composition=8,
        method=method,
        seed=0,
    )


@pytest.mark.parametrize(
    ("method", "pool"),
    [("random", {0.15, 0.2, 0.349}), ("random_all", None)],
)
def test_random_all_ignores_trust_levels(tmp_path, model_devi, method, pool):
    """random draws among candidates only; random_all (the no-active-learning baseline)
    draws among every explored frame, accurate and beyond trust_hi alike."""
    from lpsflow.selection import select_iteration

    settings = _settings(method)
    run = _explored_run(tmp_path, model_devi)
    table, chosen, _, verdict = select_iteration([run], "", ["Li", "P", "S"], settings, 0.9)
    devi = {round(f.info["max_devi_f"], 3) for f in chosen}
    if pool is not None:
        assert devi == pool and verdict.n_selected == 3
    else:  # 8 of 10, only 6 of them not accurate: accurate and far-off frames are drawn
        assert len(chosen) == 8 and verdict.n_selected == 8
        assert any(d < 0.15 for d in devi) and any(d >= 0.35 for d in devi)
    assert dict(table["class"].value_counts()) == {"accurate": 4, "candidate": 3, "failed": 3}


@pytest.mark.parametrize("method", ["fps", "random", "random_all"])
def test_collapsed_frames_are_failed_and_never_labelled(tmp_path, model_devi, method):
    """Frames whose atoms come closer than the dataset's min_distance are failed whatever
    their deviation and never drawn (training would refuse their labels); without the limit
    the same frames are labelled. Atom 0 moves along the cell diagonal past the others: its
    closest pair is 1.637, 1.634, 1.649 A in frames 6-8 (one candidate, two failed by
    deviation) and 1.658 and 1.682 A in frames 5 and 9, so three frames are closer than 1.655."""
    from lpsflow.selection import select_iteration

    settings = _settings(method)
    run = _explored_run(tmp_path, model_devi)
    free = select_iteration([run], "", ["Li", "P", "S"], settings, 0.9)
    table, chosen, _, verdict = select_iteration([run], "", ["Li", "P", "S"], settings, 0.9, 1.655)
    assert table["too_close"].tolist() == [False] * 6 + [True] * 3 + [False]
    assert not free[0]["too_close"].any()
    assert dict(table["class"].value_counts()) == {"accurate": 4, "candidate": 2, "failed": 4}
    steps = {f.info["step"] for f in chosen}
    free_steps = {f.info["step"] for f in free[1]}
    assert steps and steps.isdisjoint({60, 70, 80})
    if method == "random_all":  # the 7 frames not too close (9: far off, not collapsed) of 8
        assert steps == {0, 10, 20, 30, 40, 50, 90} and len(free_steps) == 8
    else:
        assert steps == {40, 50} and free_steps == {40, 50, 60}
    assert verdict.n_selected == len(chosen)


def test_closest_pair_sees_periodic_images():
    from ase import Atoms

    from lpsflow.structures import closest_pair

    atoms = Atoms("LiS", positions=[[0.2, 0, 0], [5.6, 0, 0]], cell=[6] * 3, pbc=True)
    assert closest_pair(atoms, 1.0) == pytest.approx(0.6)  # across the boundary, not 5.4
    assert closest_pair(atoms, 0.5) == float("inf")
    assert closest_pair(atoms[:1], 10.0) == float("inf")
    assert closest_pair(atoms, 0.0) == float("inf")
