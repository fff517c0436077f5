import numpy as np
import pytest
from ase import Atoms

from lpsflow.anions import p2s6, p2s6_hypo, p2s7, ps4
from lpsflow.li_environment import (
    ENVIRONMENTS,
    S_CLASSES,
    EnvironmentOverTime,
    analyse_dcd,
    analyse_run,
    charge_check,
    default_lags,
    environment_report,
    frame_environment,
    li_environments,
    mobility_table,
    topology_charges,
    unit_net_charges,
    units_table,
)
from lpsflow.transport import FORMAL_CHARGES, collective_conductivity

BOX = 24.0


def _place(atoms: Atoms, unit: Atoms, shift) -> int:
    """Append ``unit`` shifted by ``shift``; returns the index of its first atom."""
    start = len(atoms)
    atoms += Atoms(unit.symbols, positions=unit.positions + np.asarray(shift, float))
    return start


def _li_outside(atoms: Atoms, s_index: int, distance: float = 2.4) -> int:
    """Add a Li beyond S ``s_index``, on the far side from the nearest P (or along +x for a
    lone S), ``distance`` angstrom from the S. Returns the Li index."""
    symbols = np.array(atoms.get_chemical_symbols())
    s = atoms.positions[s_index]
    p = atoms.positions[symbols == "P"]
    if len(p):
        d = s - p
        near = np.linalg.norm(d, axis=1) < 2.45
        direction = d[near].sum(axis=0) if near.any() else np.array([1.0, 0, 0])
    else:
        direction = np.array([1.0, 0, 0])
    atoms.append("Li")
    atoms.positions[-1] = s + distance * direction / np.linalg.norm(direction)
    return len(atoms) - 1


def _env_of(atoms: Atoms) -> list[str]:
    return [ENVIRONMENTS[e] for e in frame_environment(atoms)["li_env"]]


# ---- the classifier on hand-built cells of each unit ----


@pytest.mark.parametrize(
    ("builder", "s_offset", "expected"),
    [
        (ps4, 1, "PS4"),
        (p2s7, 1, "P2S7_bridging"),  # P, S(bridge), P, terminal S ...
        (p2s7, 3, "P2S7_terminal"),
        (p2s6_hypo, 2, "P2S6_hypo"),  # P, P, six terminal S
        (p2s6, 2, "P2S6_edge"),  # P, P, ring S, ring S, terminal S ...
        (p2s6, 5, "P2S6_edge"),
    ],
)
def test_li_environment_of_each_unit(builder, s_offset, expected):
    atoms = Atoms(cell=[BOX] * 3, pbc=True)
    first = _place(atoms, builder(), [BOX / 2] * 3)
    _li_outside(atoms, first + s_offset, distance=2.4 if "bridging" not in expected else 2.3)
    out = frame_environment(atoms)
    assert _env_of(atoms) == [expected]
    assert out["li_counts"].sum() == 1  # one S in the shell, no other


def test_isolated_sulfide_polysulfide_and_empty_shell():
    atoms = Atoms("S", positions=[[5.0, 5.0, 5.0]], cell=[BOX] * 3, pbc=True)
    _li_outside(atoms, 0)
    atoms += Atoms("S2", positions=[[15.0, 15.0, 15.0], [15.0, 15.0, 17.05]])  # S-S 2.05 A
    atoms.append("Li")
    atoms.positions[-1] = [15.0, 12.6, 15.0]
    atoms.append("Li")
    atoms.positions[-1] = [5.0, 15.0, 20.0]  # no S within 3 A
    out = frame_environment(atoms)
    assert _env_of(atoms) == ["S2-", "S-S", "none"]
    assert out["s_fraction"]["S2-"] == pytest.approx(1 / 3)
    assert out["s_fraction"]["S-S"] == pytest.approx(2 / 3)


def test_majority_and_tie_between_classes():
    counts = np.zeros((4, len(S_CLASSES)), dtype=int)
    counts[0, S_CLASSES.index("PS4")] = 2
    counts[0, S_CLASSES.index("P2S7_terminal")] = 1
    counts[1, S_CLASSES.index("PS4")] = 1
    counts[1, S_CLASSES.index("P2S7_bridging")] = 1
    counts[2, S_CLASSES.index("S2-")] = 3
    envs = [ENVIRONMENTS[e] for e in li_environments(counts)]
    assert envs == ["PS4", "mixed", "S2-", "none"]


# ---- mobility per environment on synthetic trajectories ----


def _two_unit_cell():
    """PS4 3- and P2S7 4- far apart, four Li beside terminal S of each (Li 0-3 at PS4)."""
    atoms = Atoms(cell=[BOX] * 3, pbc=True)
    a = _place(atoms, ps4(), [6.0, 6.0, 6.0])
    b = _place(atoms, p2s7(), [17.0, 17.0, 17.0])
    for s in range(1, 5):
        _li_outside(atoms, a + s, distance=2.3)
    for s in (3, 4, 6, 7):
        _li_outside(atoms, b + s, distance=2.3)
    return atoms


def _rattling_frames(amp_ps4: float, amp_p2s7: float, n: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = _two_unit_cell()
    li = np.flatnonzero(np.array(base.get_chemical_symbols()) == "Li")
    amp = np.where(np.arange(len(li)) < 4, amp_ps4, amp_p2s7)
    frames = []
    for _ in range(n):
        f = base.copy()
        f.positions[li] += rng.normal(0.0, 1.0, (len(li), 3)) * amp[:, None]
        frames.append(f)
    return frames


def test_li_beside_ps4_moving_faster_gives_that_ordering():
    out = analyse_run(_rattling_frames(0.15, 0.03), timestep_ps=0.1, lags=[1, 5], n_boot=300)
    assert out["ordering_longest_lag"][:2] == ["PS4", "P2S7_terminal"]
    rows = {r["environment"]: r for r in out["mobility"] if r["lag_frames"] == 5}
    fast, slow = rows["PS4"], rows["P2S7_terminal"]
    assert fast["msd_lo_A2"] > slow["msd_hi_A2"]  # intervals separate
    assert fast["msd_A2"] == pytest.approx(6 * 0.15**2, rel=0.3)  # two independent offsets
    assert all(r["msd_lo_A2"] >= 0 and r["D_eff_lo_cm2_s"] >= 0 for r in out["mobility"])
    assert fast["n_li"] == 4 and slow["n_li"] == 4
    assert out["p_faster_than_PS4"]["P2S7_terminal"] < 0.01
    # the reverse assignment reverses the ordering (the conditioning is on the environment)
    rev = analyse_run(_rattling_frames(0.03, 0.15), timestep_ps=0.1, lags=[5], n_boot=100)
    assert rev["ordering_longest_lag"][:2] == ["P2S7_terminal", "PS4"]
    assert rev["p_faster_than_PS4"]["P2S7_terminal"] > 0.99


def test_conditioning_on_start_environment_and_residence():
    """One Li sits at PS4 for frames 0-4, then jumps to a P2S7 site for frames 5-9."""
    base = _two_unit_cell()
    li = np.flatnonzero(np.array(base.get_chemical_symbols()) == "Li")
    site_a, site_b = base.positions[li[0]].copy(), base.positions[li[4]].copy()
    frames = []
    for k in range(10):
        f = base.copy()
        f.positions[li[0]] = site_a if k < 5 else site_b + [0.0, 0.0, 0.0]
        f.positions[li[4]] = site_b + [0.0, 0.0, 3.5]  # out of the way: no S in its shell
        frames.append(f)
    acc = EnvironmentOverTime(timestep_ps=0.5, lags=[1], n_boot=50)
    for f in frames:
        acc.add(f)
    out = acc.results()
    jump = float(np.sum((site_b - site_a) ** 2))
    ps4 = next(r for r in out["mobility"] if r["environment"] == "PS4")
    # origins in PS4: Li 0 at frames 0-4 (one of them the jump) and Li 1-3 at frames 0-8
    assert ps4["n_origins"] == 5 + 3 * 9
    assert ps4["msd_A2"] == pytest.approx(jump / (5 + 27))
    res = {r["environment"]: r for r in out["residence"]}
    assert res["PS4"]["exits"] == 1
    assert res["PS4"]["exit_rate_per_ps"] == pytest.approx(1 / ((5 + 27) * 0.5))
    assert res["P2S7_terminal"]["exits"] == 0
    assert res["P2S7_terminal"]["residence_ps"] == float("inf")


def test_unit_fractions_follow_a_trajectory_whose_units_change():
    """P2S7 4- + S 2- for six frames, then two PS4 3- (same atoms: P2S8)."""
    before = Atoms(cell=[BOX] * 3, pbc=True)
    _place(before, p2s7(), [12.0, 12.0, 12.0])
    before += Atoms("S", positions=[[3.0, 3.0, 3.0]])
    after = Atoms(cell=[BOX] * 3, pbc=True)
    _place(after, ps4(), [6.0, 12.0, 12.0])
    _place(after, ps4(), [18.0, 12.0, 12.0])
    for cell in (before, after):
        cell += Atoms("Li", positions=[[20.0, 3.0, 3.0]])
    frames = [before.copy() for _ in range(6)] + [after.copy() for _ in range(6)]
    out = analyse_run(frames, timestep_ps=1.0, lags=[1])
    series = out["series"]
    assert list(series["p_P2S7"]) == [1.0] * 6 + [0.0] * 6
    assert list(series["p_PS4"]) == [0.0] * 6 + [1.0] * 6
    assert list(series["s_S2-"]) == pytest.approx([1 / 8] * 6 + [0.0] * 6)
    assert list(series["time_ps"]) == list(np.arange(12.0))
    assert out["p_fraction_first"]["P2S7"] == 1.0 and out["p_fraction_last"]["PS4"] == 1.0
    assert out["units_changed"] and out["unit_change"] == pytest.approx(1.0)
    assert out["p_switched_fraction"] == 1.0
    steady = analyse_run([before.copy() for _ in range(6)], timestep_ps=1.0, lags=[1])
    assert not steady["units_changed"] and steady["unit_change"] == 0.0


def test_default_lags_and_table():
    assert default_lags(101) == [1, 2, 4, 8, 16, 20]
    assert default_lags(3) == [1]
    out = analyse_run(_rattling_frames(0.1, 0.02, n=20), timestep_ps=0.1, lags=[1, 3], n_boot=50)
    out.update(composition="X", replica=0, temperature_K=800.0)
    table = mobility_table([out])
    assert np.allclose(table["lag_ps"], 0.3)
    assert {"PS4", "P2S7_terminal"} <= set(table["environment"])


# ---- charges (issue 23.4) ----


def _boxed(unit: Atoms) -> Atoms:
    atoms = Atoms(cell=[BOX] * 3, pbc=True)
    _place(atoms, unit, [BOX / 2] * 3)
    return atoms


@pytest.mark.parametrize(
    ("builder", "name", "charge"),
    [(ps4, "PS4", -3), (p2s7, "P2S7", -4), (p2s6, "P2S6", -2), (p2s6_hypo, "P2S6(P-P)", -4)],
)
def test_topology_charges_give_unit_charges(builder, name, charge):
    atoms = _boxed(builder())
    assert unit_net_charges(atoms, topology_charges(atoms)) == {name: [charge]}


def test_element_charges_exact_for_p5_units_not_for_hypo():
    for builder in (ps4, p2s7, p2s6):
        assert charge_check(_boxed(builder()), FORMAL_CHARGES)["element_charges_exact"]
    hypo = _boxed(p2s6_hypo())
    hypo += Atoms("S", positions=[[2.0, 2.0, 2.0]])  # the S0 a hypo unit leaves
    check = charge_check(hypo, FORMAL_CHARGES)
    assert not check["element_charges_exact"]
    assert check["units_differing"]["P2S6(P-P)"] == {"element": -2.0, "topology": -4.0, "count": 1}
    assert check["element_net_e"] == -4.0  # (+5 x 2 - 2 x 7) without Li
    assert check["topology_net_e"] == -6.0  # the isolated S0 counted as S 2-


def _unit_walk(charges_of_unit, mobile: bool, n_frames=400, n_units=6, seed=1):
    """Trajectory of n_units copies of a unit plus their Li; Li random walk, units either
    random-walk (mobile) or only vibrate. Returns positions (frames x atoms x 3), symbols."""
    rng = np.random.default_rng(seed)
    unit = p2s6_hypo()
    n_u = len(unit)
    n_li = int(-round(sum(charges_of_unit)))
    pos0 = []
    for k in range(n_units):
        pos0.append(unit.positions + [6.0 * k, 0.0, 0.0])
    pos0 = np.concatenate(pos0 + [rng.uniform(0, 30, (n_li * n_units, 3))])
    n_at = len(pos0)
    traj = np.empty((n_frames, n_at, 3))
    centre = np.zeros((n_units, 3))
    li = np.zeros((n_li * n_units, 3))
    for f in range(n_frames):
        if mobile:
            centre += rng.normal(0, 0.1, centre.shape)
        li += rng.normal(0, 0.2, li.shape)
        frame = pos0.copy()
        frame[: n_units * n_u] += np.repeat(centre, n_u, axis=0)
        frame[: n_units * n_u] += rng.normal(0, 0.05, (n_units * n_u, 3))  # vibration
        frame[n_units * n_u :] += li
        traj[f] = frame
    return traj, n_units, n_u


def test_collective_sigma_depends_on_unit_net_charges_only_through_their_motion():
    top = np.array([4.0, 4.0] + [-2.0] * 6)  # hypo P2S6 4-: P(IV)
    element = np.array([5.0, 5.0] + [-2.0] * 6)  # P +5: net -2
    split = np.array([2.0, 2.0] + [-4.0 / 3.0] * 6)  # net -4 again, split differently

    def sigma(traj, n_units, n_u, unit_q, li_q=1.0):
        n_li = traj.shape[1] - n_units * n_u
        q = np.concatenate([np.tile(unit_q, n_units), np.full(n_li, li_q)])
        out = collective_conductivity(traj, q, 0.01, 27000.0, 800.0, n_blocks=1)
        return out["sigma_collective_S_cm"]

    mobile = _unit_walk(top, mobile=True)
    s_top, s_split, s_el = (sigma(*mobile, q) for q in (top, split, element))
    assert s_split == pytest.approx(s_top, rel=0.05)  # only the unit's net charge matters
    assert abs(s_el - s_top) / s_top > 0.2  # a wrong net charge of a moving unit does matter
    frozen = _unit_walk(top, mobile=False)
    assert sigma(*frozen, element) == pytest.approx(sigma(*frozen, top), rel=0.05)


def test_analyse_dcd_of_a_run(tmp_path):
    import json

    import MDAnalysis

    frames = _rattling_frames(0.15, 0.03, n=26)
    start = frames[0]
    path = tmp_path / "all.dcd"
    u = MDAnalysis.Universe.empty(len(start), trajectory=True)
    with MDAnalysis.Writer(str(path), n_atoms=len(start)) as w:
        for k, f in enumerate(frames):
            u.atoms.positions = f.positions + (BOX if k % 2 else 0.0)  # unwrapped, whole box
            u.dimensions = [BOX, BOX, BOX, 90.0, 90.0, 90.0]
            w.write(u.atoms)
    out = analyse_dcd(
        path, start, 0.02, 0.2, composition="A", replica=1, temperature_k=700.0, n_boot=200
    )
    summary = out["summary"]
    json.dumps(summary)  # JSON-ready
    assert summary["lags_frames"] == [1, 2, 4, 5]
    assert summary["composition"] == "A" and summary["temperature_K"] == 700.0
    assert len(out["series"]) == 26 and out["series"]["p_PS4"].iloc[-1] == pytest.approx(1 / 3)
    assert summary["ordering_longest_lag"][:2] == ["PS4", "P2S7_terminal"]
    assert summary["charges"]["first"]["element_charges_exact"]
    assert set(out["mobility"]["lag_frames"]) == {1, 2, 4, 5}
    # odd frames are shifted by a whole box: lag 1 sees that shift, lag 2 does not
    lag1 = next(r for r in summary["mobility"] if r["lag_frames"] == 1)
    lag2 = next(r for r in summary["mobility"] if r["lag_frames"] == 2)
    assert lag1["msd_A2"] > 2 * BOX**2 > 10 * lag2["msd_A2"]


def test_report_tables_and_figure():
    runs = []
    for rep, (fast, slow) in enumerate([(0.15, 0.03), (0.1, 0.02)]):
        out = analyse_run(_rattling_frames(fast, slow, n=20), timestep_ps=0.1, lags=[2], n_boot=50)
        out.update(composition="LPS70", replica=rep, temperature_K=800.0)
        out["charges"] = {"first": {"element_charges_exact": True}}
        runs.append(out)
    runs[1]["units_changed"], runs[1]["unit_change"] = True, 0.25
    report = environment_report(mobility_table(runs), units_table(runs))
    assert report["changed"] == ["LPS70 replica 1 at 800 K (largest P-fraction change 0.25)"]
    assert set(report["mobility"]["environment"]) >= {"PS4", "P2S7_terminal"}
    assert (report["mobility"]["n_li"] > 0).all()
    assert list(report["units"]["first_P2S7"]) == pytest.approx([2 / 3, 2 / 3])
    assert report["units"]["element_charges_exact"].all()
    from lpsflow.report import figure_png

    assert figure_png(report["figure"]).startswith("data:image/png;base64,")


def test_report_section_renders(tmp_path):
    from importlib.resources import files

    from jinja2 import Environment

    from lpsflow.report import environment_section

    out = analyse_run(_rattling_frames(0.15, 0.03, n=20), timestep_ps=0.1, lags=[2], n_boot=50)
    out.update(composition="LPS70", replica=0, temperature_K=800.0, units_changed=True)
    out["charges"] = {"first": {"element_charges_exact": True}}
    mobility_table([out]).to_csv(tmp_path / "m.csv", index=False)
    units_table([out]).to_csv(tmp_path / "u.csv", index=False)
    assert environment_section({}) is None  # a workflow without the tables: no section
    inp = {"environment_mobility": tmp_path / "m.csv", "environment_units": tmp_path / "u.csv"}
    section = environment_section(inp)
    text = (files("lpsflow") / "templates" / "report.html.j2").read_text()
    part = text[text.index("{% if environment %}") : text.index('<h2 id="teacher">')]
    html = (
        Environment().from_string(part.rsplit("{% if teacher %}", 1)[0]).render(environment=section)
    )
    assert "Li environments and unit stability" in html
    assert "The anion units changed during: LPS70 replica 0 at 800 K" in html
    assert section["fig"].startswith("data:image/png")


def test_units_campaign_holds_both_series():
    """config/units.yaml: x = 0.67-0.80 and two speciations at x = 0.70 with the same atoms."""
    from pathlib import Path

    import yaml

    from lpsflow.stoichiometry import solve

    cfg = yaml.safe_load((Path(__file__).parents[1] / "config" / "units.yaml").read_text())
    cells = {
        c["name"]: solve(c["x"], c["n_atoms"], speciation=c.get("speciation"))
        for c in cfg["compositions"]
    }
    xs = sorted(round(s.x, 2) for s in cells.values())
    assert xs == [0.67, 0.7, 0.7, 0.75, 0.8]
    rich, ps4_rich = cells["LPS70"], cells["LPS70_PS4"]
    assert rich.element_counts() == ps4_rich.element_counts()  # same composition and size
    assert rich.units == {"PS4": 4, "P2S7": 4} and ps4_rich.units == {"PS4": 8, "P2S6": 2}
    assert cfg["dft"]["engine"] == "mlip"


def test_a_run_with_one_frame_is_noted_and_skipped(tmp_path):
    """A production run that failed at once leaves one frame: noted, not raised."""
    import MDAnalysis

    start = _two_unit_cell()
    path = tmp_path / "all.dcd"
    u = MDAnalysis.Universe.empty(len(start), trajectory=True)
    with MDAnalysis.Writer(str(path), n_atoms=len(start)) as w:
        u.atoms.positions = start.positions
        u.dimensions = [BOX, BOX, BOX, 90.0, 90.0, 90.0]
        w.write(u.atoms)
    short = analyse_dcd(path, start, 0.02, 0.2, composition="A", replica=0, temperature_k=800.0)
    assert "1 frame(s)" in short["summary"]["note"] and short["series"].empty
    good = analyse_run(_rattling_frames(0.15, 0.03, n=10), timestep_ps=0.1, lags=[2], n_boot=20)
    good.update(composition="A", replica=1, temperature_K=800.0, note="")
    good["charges"] = {"first": {"element_charges_exact": True}}
    runs = [short["summary"], good]
    assert set(mobility_table(runs)["replica"]) == {1}
    units = units_table(runs)
    assert list(units["replica"]) == [0, 1] and "1 frame(s)" in units["note"][0]
    units.to_csv(tmp_path / "u.csv", index=False)  # as the report reads it back
    import pandas as pd

    report = environment_report(mobility_table(runs), pd.read_csv(tmp_path / "u.csv"))
    assert report["changed"] == []
