"""Shared fixtures: tiny real systems, validated configs, the repository paths."""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from ase import Atoms
from snakemake.utils import validate

from lpsflow.aimd import aimd_frames
from lpsflow.anions import ps4
from lpsflow.dft import resolve_dft
from lpsflow.dft.base import AimdSettings
from lpsflow.store import LabelStore

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
COUNTING_CP2K = REPO / "tests" / "bin" / "cp2k-counting"
DYING_LMP = REPO / "tests" / "bin" / "lmp-dies"
#: the tiny campaign's LAMMPS exploration of LPS75 in iteration 0 is killed half-way
DIES_IN = "iter_000/explore/LPS75/"


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


def make_cheap_dft(store: Path) -> dict:
    """Cheap-preset CP2K settings with the store ``store`` (fast, not production quality)."""
    config = validated({"compositions": [{"name": "a", "x": 0.75, "n_atoms": 16}]})
    dft = resolve_dft({**config["dft"], "preset": "cheap", "dispersion": "none"})
    dft.update(store=str(store), timeout_s=300)
    return dft


@pytest.fixture
def cheap_dft(tmp_path) -> dict:
    """Cheap-preset CP2K settings with a private store (fast, not production quality)."""
    return make_cheap_dft(tmp_path / "store")


@pytest.fixture
def li3ps4_8() -> Atoms:
    return make_li3ps4_8()


def make_li3ps4_8() -> Atoms:
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


SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run_workflow(workdir: Path, config: dict, *args: str, check: bool = True, env=None):
    """Run the repository's workflow in ``workdir`` with ``config`` as config/config.yaml."""
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    if config is not None:  # None: keep the config file already in workdir
        (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    for template in (REPO / "config").glob("*.json"):
        shutil.copy2(template, workdir / "config" / template.name)  # keeps its age
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def lj_cell(spacing: float = 2.5, noise: float = 0.05, seed: int = 0):
    """27 Li/S atoms on a perturbed 3x3x3 grid in a periodic cube, with a smooth Lennard-Jones
    calculator: a cheap stand-in for the teacher (energies, forces, stress)."""
    import numpy as np
    from ase import Atoms
    from ase.calculators.lj import LennardJones

    rng = np.random.default_rng(seed)
    grid = np.array([[i, j, k] for i in range(3) for j in range(3) for k in range(3)], float)
    atoms = Atoms(
        ["Li", "Li", "S"] * 9,
        positions=grid * spacing + rng.normal(0, noise, (27, 3)),
        cell=[3 * spacing] * 3,
    )
    atoms.pbc = True
    return atoms, LennardJones(sigma=2.0, epsilon=0.01, rc=3.5, smooth=True)


def shipped(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


def tiny_campaign() -> dict:
    """Two compositions of 16 and 19 atoms, 2 tiny models, 2 iterations: minutes on 2 cores.

    The LAMMPS exploration of LPS75 in iteration 0 dies half-way (tests/bin/lmp-dies), as
    MD with a bad model does: the campaign must go on from the frames before the crash.
    """
    config = shipped("demo-cp2k.yaml")
    config["compositions"] = [
        {"name": "LPS75", "x": 0.75, "n_atoms": 16, "replicas": 1},
        {"name": "LPS80", "x": 0.80, "n_atoms": 19, "replicas": 1},
    ]
    config["init"] = {"n_perturb": 4}
    # two 1-thread CP2K jobs at once label faster than one 2-thread job (CI, 16 atoms:
    # 21 s per frame at 1 thread, 14.5 s at 2); threads are not science (same labels)
    config["dft"].update(command=str(COUNTING_CP2K), threads=1)
    config["train"].update(n_models=2, steps=200, init_steps=100, test_fraction=0.3)
    config["explore"].update(
        schedule=[{"ensemble": "nvt", "temperature": 600}],
        steps=[200],
        command=f"{DYING_LMP} {DIES_IN} lmp",
    )
    config["select"].update(max_per_composition=2)
    for key in ("trust_lo_v", "trust_hi_v"):  # force deviation only, as the tests expect
        config["select"].pop(key, None)
    config["loop"] = {"max_iterations": 2, "accurate_ratio": 0.99}
    config["production"] = {
        "n_atoms": 32,
        "melt_steps": 300,
        "quench_rate": 3000,  # K/ps: 300 steps from 1200 to 300 K
        "temperatures": [800, 1000],
        "equilibration_steps": 200,
        "anneal_steps": 100,
        "npt_steps": 200,
        "steps": 2000,
        "dump_every": 10,
        "dump_all_every": 10,
        "replicas": 2,
        "devi_every": 100,
    }
    return config


@pytest.fixture(scope="session")
def local_campaign(tmp_path_factory) -> Path:
    """The tiny campaign run once on the local executor (real CP2K, DeePMD-kit, LAMMPS)."""
    if shutil.which("cp2k.psmp") is None:
        pytest.skip("cp2k.psmp not installed (make setup installs it)")
    root = tmp_path_factory.mktemp("local_campaign")
    run_workflow(root, tiny_campaign(), env={"CP2K_CALL_LOG": str(root / "calls.txt")})
    return root


#: settings of the one real AIMD run shared by the tests (8 atoms, 4 steps, cheap preset)
AIMD_SETTINGS = AimdSettings(steps=4, every=2, temperature=600, seed=3)


@pytest.fixture(scope="session")
def aimd_run(tmp_path_factory):
    """One real CP2K AIMD run of the 8-atom Li3PS4 cell into a fresh store (frames 0, 2, 4).

    Returns (starting atoms, store, per-frame results, run record, dft settings); the run
    folder (CP2K input, log, -pos-1.xyz, -frc-1.xyz) is store.root/aimd/<key[:2]>/<key>.
    """
    if shutil.which("cp2k.psmp") is None:
        pytest.skip("cp2k.psmp not installed (make setup installs it)")
    dft = make_cheap_dft(tmp_path_factory.mktemp("aimd") / "store")
    store = LabelStore(dft["store"])
    atoms = make_li3ps4_8()
    atoms.info.update(composition="LPS75", replica=0)
    frames, run = aimd_frames(atoms, dft, AIMD_SETTINGS, store, threads=1)
    return atoms, store, frames, run, dft


@contextlib.contextmanager
def parsed_workflow(config: dict, work: Path):
    """The repository's workflow as Snakemake parses it for ``config``, in ``work`` (the
    config and the shipped DeePMD templates are written there first)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
    )

    (work / "config").mkdir(parents=True, exist_ok=True)
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    for template in (REPO / "config").glob("*.json"):
        (work / "config" / template.name).write_text(template.read_text())
    cwd = os.getcwd()
    os.chdir(work)
    try:
        with SnakemakeApi(OutputSettings()) as api:
            yield api.workflow(
                resource_settings=ResourceSettings(cores=1),
                config_settings=ConfigSettings(),
                storage_settings=StorageSettings(),
                snakefile=REPO / "Snakefile",
                workdir=work,
            )._workflow
    finally:
        os.chdir(cwd)
