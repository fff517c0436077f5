import json

import numpy as np
import yaml
from ase.neighborlist import neighbor_list
from conftest import REPO
from snakemake.utils import validate

from lpsflow.training import deepmd_input, neighbor_sel, system_dirs


def test_input_filled_per_member():
    template = json.loads((REPO / "config" / "deepmd.json").read_text())
    kw = dict(
        type_map=["Li", "P", "S"],
        sel=[40, 8, 48],
        steps=1000,
        train_systems=["/d/a"],
        valid_systems=[],
    )
    a = deepmd_input(template, seed=1, **kw)
    b = deepmd_input(template, seed=11, **kw)
    assert a["model"]["type_map"] == ["Li", "P", "S"] and a["model"]["descriptor"]["sel"] == [
        40,
        8,
        48,
    ]
    assert a["training"]["numb_steps"] == 1000 and a["learning_rate"]["decay_steps"] == 50
    assert a["training"]["training_data"]["systems"] == ["/d/a"]
    assert "validation_data" not in a["training"]

    def seeds(x):
        return (
            x["model"]["descriptor"]["seed"],
            x["model"]["fitting_net"]["seed"],
            x["training"]["seed"],
        )

    assert len(set(seeds(a)) | set(seeds(b))) == 6
    assert "seed" not in template["model"]["descriptor"]  # the template is not modified


def test_sel_from_neighbour_statistics(tmp_path, li3ps4_8):
    import dpdata
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms = li3ps4_8.repeat(2)
    atoms.calc = SinglePointCalculator(atoms, energy=0.0, forces=np.zeros((len(atoms), 3)))
    dpdata.LabeledSystem(atoms, fmt="ase/structure").to("deepmd/npy", str(tmp_path / "sys"))
    sel = neighbor_sel(system_dirs(tmp_path), 5.0, ["Li", "P", "S"], 1.0)
    i, j = neighbor_list("ij", atoms, 5.0)
    types = np.array([["Li", "P", "S"].index(s) for s in atoms.get_chemical_symbols()])
    brute = [max(np.bincount(i[types[j] == t], minlength=len(atoms))) for t in range(3)]
    assert sel == [max(4, int(np.ceil(n / 4)) * 4) for n in brute]
    assert neighbor_sel(system_dirs(tmp_path), 5.0, ["Li", "P", "S"], 2.0)[2] >= 2 * brute[2]


def test_precision_written_into_descriptor_and_fitting_net():
    import pytest

    template = json.loads((REPO / "config" / "deepmd.json").read_text())
    kw = dict(type_map=["Li"], sel=[4], seed=1, steps=100, train_systems=["/d"], valid_systems=[])
    inp = deepmd_input(template, precision="float32", **kw)
    assert inp["model"]["descriptor"]["precision"] == "float32"
    assert inp["model"]["fitting_net"]["precision"] == "float32"
    assert "precision" not in deepmd_input(template, **kw)["model"]["descriptor"]  # template's
    with pytest.raises(ValueError, match="precision"):
        deepmd_input(template, precision="float16", **kw)


def test_train_precision_setting_reaches_the_member_params():
    from lpsflow.settings import Settings

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["train"]["precision"] = "float32"
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    assert Settings.from_config(config).train.member.params()["precision"] == "float32"
