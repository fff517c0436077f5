"""Shared fixtures: tiny real systems, validated configs, the repository paths."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from ase import Atoms
from snakemake.utils import validate

from lpsflow.anions import ps4
from lpsflow.config import resolve_dft

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
COUNTING_CP2K = REPO / "tests" / "bin" / "cp2k-counting"


def needs_cp2k():
    return pytest.mark.skipif(
        shutil.which("cp2k.psmp") is None, reason="cp2k.psmp not installed (make setup installs it)"
    )


def validated(config: dict) -> dict:
    """``config`` validated against the workflow schema, defaults filled."""
    config = copy.deepcopy(config)
    validate(config, str(SCHEMA))
    return config


@pytest.fixture
def demo_config() -> dict:
    return validated(yaml.safe_load((REPO / "config" / "demo.yaml").read_text()))


@pytest.fixture
def cheap_dft(tmp_path) -> dict:
    """Cheap-preset CP2K settings with a private store (fast, not production quality)."""
    config = validated({"compositions": [{"name": "a", "x": 0.75, "n_atoms": 16}]})
    dft = resolve_dft({**config["dft"], "preset": "cheap", "dispersion": "none"})
    dft.update(store=str(tmp_path / "store"), timeout_s=300)
    return dft


@pytest.fixture
def li3ps4_8() -> Atoms:
    """One Li3PS4 formula unit (8 atoms) in a 6.5 angstrom cube: PS4 3- with 3 Li+ near S."""
    unit = ps4()
    atoms = Atoms("PS4", positions=unit.positions + 3.25, cell=[6.5] * 3, pbc=True)
    s = atoms.positions[1:4]
    centre = atoms.positions[0]
    for pos in s:  # Li 2.45 angstrom beyond each of three S, away from P
        d = (pos - centre) / np.linalg.norm(pos - centre)
        atoms.append("Li")
        atoms.positions[-1] = pos + 2.45 * d
    atoms.wrap()
    return atoms
