import numpy as np
import pytest
from ase import Atoms
from ase.io import write

from lpsflow.amorphous import MinDistances
from lpsflow.structures import StructureError, check_structure, crystal_cell, starting_cell


def test_crystal_file_is_repeated_to_size(tmp_path, li3ps4_8):
    path = tmp_path / "li3ps4.vasp"
    write(path, li3ps4_8, format="vasp")
    cell = crystal_cell(path, 64)
    assert len(cell) == 64
    assert cell.info["repeats"] == [2, 2, 2]
    assert np.allclose(cell.cell.lengths(), 13.0)


def test_cif_is_read(tmp_path, li3ps4_8):
    path = tmp_path / "li3ps4.cif"
    write(path, li3ps4_8, format="cif")
    assert len(check_structure(path)) == 8


@pytest.mark.parametrize(
    "atoms,message",
    [
        (Atoms("LiS", positions=[[0, 0, 0], [2.4, 0, 0]]), "not periodic"),
        (Atoms("NaS", positions=[[0, 0, 0], [2.4, 0, 0]], cell=[5, 5, 5], pbc=True), "Na"),
    ],
)
def test_bad_structure_rejected(tmp_path, atoms, message):
    path = tmp_path / "bad.extxyz"
    write(path, atoms, format="extxyz")
    with pytest.raises(StructureError, match=message):
        check_structure(path)


def test_unreadable_structure_rejected(tmp_path):
    path = tmp_path / "junk.cif"
    path.write_text("this is not a crystal\n")
    with pytest.raises(StructureError, match="cannot read"):
        check_structure(path)


def test_replicas_differ_and_carry_provenance():
    comp = {"name": "LPS75", "x": 0.75, "n_atoms": 16, "density": 1.9, "seed": 2}
    a = starting_cell(comp, 0, MinDistances())
    b = starting_cell(comp, 1, MinDistances())
    assert a.info["composition"] == "LPS75" and a.info["replica"] == 0
    assert a.info["x_realised"] == 0.75 and a.info["units"] == "PS4:2"
    assert not np.allclose(a.positions, b.positions)
