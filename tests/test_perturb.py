import numpy as np

from lpsflow.perturb import perturbed_frames


def test_perturbed_frames(li3ps4_8):
    frames = perturbed_frames(li3ps4_8, 6, atom_displacement=0.05, cell_strain_percent=3.0, seed=1)
    assert len(frames) == 6
    for frame in frames:
        assert frame.get_chemical_symbols() == li3ps4_8.get_chemical_symbols()
        # dpdata strains each component by at most 3 %; edges change by at most about sqrt(3) x that
        change = np.abs(frame.cell.lengths() / li3ps4_8.cell.lengths() - 1.0)
        assert 0 < change.max() <= 0.03 * np.sqrt(3)
        assert abs(frame.get_volume() / li3ps4_8.get_volume() - 1.0) <= 1.03**3 - 1
    again = perturbed_frames(li3ps4_8, 6, 0.05, 3.0, seed=1)
    other = perturbed_frames(li3ps4_8, 6, 0.05, 3.0, seed=2)
    assert np.array_equal(frames[3].positions, again[3].positions)
    assert not np.allclose(frames[3].positions, other[3].positions)


def test_displacement_scale(li3ps4_8):
    frames = perturbed_frames(li3ps4_8, 50, atom_displacement=0.1, cell_strain_percent=0.0, seed=0)
    disp = np.concatenate([f.positions - li3ps4_8.positions for f in frames])
    assert 0.05 < disp.std() < 0.15
