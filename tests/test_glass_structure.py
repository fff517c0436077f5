import numpy as np
import pytest
from ase import Atoms

from lpsflow.amorphous import pack
from lpsflow.glass_structure import (
    analyse,
    analyse_run,
    frame_structure,
    partial_rdf,
    read_dcd_frames,
    read_frames,
)
from lpsflow.stoichiometry import solve


def test_rdf_of_ideal_gas_tends_to_one():
    rng = np.random.default_rng(0)
    atoms = Atoms("S2000", positions=rng.uniform(0, 30, (2000, 3)), cell=[30] * 3, pbc=True)
    r, g = partial_rdf(atoms, "S", "S", rmax=6.0, nbins=30)
    assert np.mean(g[r > 2]) == pytest.approx(1.0, abs=0.05)


def test_glass_rdf_peaks_at_bond_length():
    atoms = pack(solve(0.75, 48), 1.9, seed=1)
    out = analyse(atoms)
    assert out["units"] == {"PS4": 6}
    r, g = np.array(out["rdf"]["P-S"]["r"]), np.array(out["rdf"]["P-S"]["g"])
    assert r[np.argmax(g)] == pytest.approx(2.03, abs=0.06)
    li_s = np.array(out["rdf"]["Li-S"]["g"])
    assert li_s[r < 1.75].sum() == 0  # minimum distances hold


# ---- structure over a run, on hand-built frames ----


def _li_beyond(atoms, s_index, centre, distance=2.45):
    d = atoms.positions[s_index] - centre
    atoms.append("Li")
    atoms.positions[-1] = atoms.positions[s_index] + distance * d / np.linalg.norm(d)


def _ps4_p2s7_cell():
    """PS4 3- and P2S7 4- far apart, Li+ beside two terminal S and the bridging S."""
    from lpsflow.anions import p2s7, ps4

    atoms = Atoms(cell=[20.0] * 3, pbc=True)
    atoms += Atoms(ps4().symbols, positions=ps4().positions + 5.0)
    atoms += Atoms(p2s7().symbols, positions=p2s7().positions + [14.0, 14.0, 14.0])
    _li_beyond(atoms, 1, atoms.positions[0])  # terminal S of PS4
    _li_beyond(atoms, 2, atoms.positions[0])
    bridging = 5 + 1  # P2S7 atoms are P, S(bridge), P, ...
    p_mid = 0.5 * (atoms.positions[5] + atoms.positions[7])
    _li_beyond(atoms, bridging, p_mid, distance=2.5)
    return atoms


def test_frame_structure_counts_units_s_classes_and_li_s():
    out = frame_structure(_ps4_p2s7_cell())
    assert out["p_fraction"]["PS4"] == pytest.approx(1 / 3)
    assert out["p_fraction"]["P2S7"] == pytest.approx(2 / 3)
    assert out["s_fraction"] == pytest.approx({"terminal": 10 / 11, "bridging": 1 / 11, "free": 0})
    assert out["li_s"] == pytest.approx(
        {"terminal": 2 / 3, "bridging": 1 / 3, "free": 0.0, "total": 1.0}
    )


def test_run_average_stable_units_and_rdf_smoothing():
    rng = np.random.default_rng(0)
    base = _ps4_p2s7_cell()
    frames = []
    for _ in range(6):
        f = base.copy()
        f.positions += rng.normal(0, 0.03, f.positions.shape) + [0.5, 0, 0]  # drift removed
        frames.append(f)
    out = analyse_run(iter(frames))
    assert out["n_frames"] == 6
    assert out["p_fraction"]["P2S7"] == pytest.approx(2 / 3)
    assert out["unit_change"] == 0 and not out["units_changed"]
    assert out["p_switched_fraction"] == 0
    assert out["p_rms_displacement_A"] < 0.2 and not out["framework_flowed"]
    g = np.array(out["rdf"]["P-S"]["g"])
    r = np.array(out["rdf"]["P-S"]["r"])
    assert 1.9 < r[np.argmax(g)] < 2.2


def test_run_sees_units_break_and_framework_flow():
    """The P2S7 splits (its second P moves away) over the second half; P displaced > 1.5 A."""
    base = _ps4_p2s7_cell()
    frames = []
    for k in range(6):
        f = base.copy()
        if k >= 3:  # second P of P2S7 and its six terminal S move 4 A away: P2S7 breaks
            move = [7] + list(range(11, 14))
            f.positions[move] += [0.0, 0.0, 4.0]
        frames.append(f)
    out = analyse_run(frames)
    assert out["p_fraction_first"]["P2S7"] == pytest.approx(2 / 3)
    assert out["p_fraction_last"]["P2S7"] == 0
    assert out["units_changed"] and out["p_switched_fraction"] == pytest.approx(2 / 3)
    shift = 4.0 * 4 / len(base)  # the mean position (drift) moves with the 4 atoms
    expected = np.sqrt(((4.0 - shift) ** 2 + 2 * shift**2) / 3)
    assert out["p_rms_displacement_A"] == pytest.approx(expected, rel=1e-6)
    assert out["framework_flowed"]


def test_read_frames_keeps_unwrapped_positions(tmp_path):
    dump = tmp_path / "all.dump"
    frame = """ITEM: TIMESTEP
{step}
ITEM: NUMBER OF ATOMS
2
ITEM: BOX BOUNDS pp pp pp
0 10
0 10
0 10
ITEM: ATOMS id type xu yu zu
1 2 {x} 1 1
2 1 5 5 5
"""
    dump.write_text(frame.format(step=0, x=1.0) + frame.format(step=10, x=12.5))
    frames = list(read_frames(dump, ["Li", "P", "S"]))
    assert [f.get_chemical_symbols() for f in frames] == [["P", "Li"]] * 2
    assert frames[1].positions[0, 0] == pytest.approx(12.5)  # not wrapped


def test_read_dcd_frames_takes_elements_from_start(tmp_path):
    import MDAnalysis

    start = _ps4_p2s7_cell()
    path = tmp_path / "all.dcd"
    u = MDAnalysis.Universe.empty(len(start), trajectory=True)
    with MDAnalysis.Writer(str(path), n_atoms=len(start)) as w:
        for shift in (0.0, 25.0):  # the second frame is unwrapped beyond the box
            u.atoms.positions = start.positions + shift
            u.dimensions = [20.0, 20.0, 20.0, 90.0, 90.0, 90.0]
            w.write(u.atoms)
    frames = list(read_dcd_frames(path, start))
    assert len(frames) == 2
    assert frames[1].get_chemical_symbols() == start.get_chemical_symbols()
    assert np.allclose(frames[1].positions, start.positions + 25.0, atol=1e-3)
    assert analyse_run(frames)["p_fraction"]["P2S7"] == pytest.approx(2 / 3)
