import numpy as np
import pytest
from ase import Atoms

from lpsflow.amorphous import pack
from lpsflow.glass_structure import analyse, partial_rdf
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
