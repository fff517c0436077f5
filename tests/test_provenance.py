"""Every label says what made it (issue 24): the level of theory comes from the engine that
labels (a teacher potential is named as such, never as CP2K's settings), the theory table of
a teacher campaign names the teacher, and the import guard compares like with like."""

from __future__ import annotations

import runpy
import types

import pandas as pd
import pytest
import yaml
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from conftest import REPO, parsed_workflow, validated

from lpsflow.config import ConfigError, check
from lpsflow.dft import get_engine, resolve_dft
from lpsflow.importing import engine_theory, theory_label

#: cheap-preset CP2K labels, as tests/test_importing.py declares them
DFT_THEORY = {"functional": "PBE", "dispersion": "D3", "basis": "DZVP-MOLOPT-SR-GTH", "cutoff": 400}


def workflow_params(config: dict, rule: str, work) -> dict:
    """The params of ``rule`` as the real workflow computes them for ``config``."""
    with parsed_workflow(config, work) as workflow:
        found = next(r for r in workflow.rules if r.name == rule)
        return {n: v for n, v in found.params._allitems() if n is not None}


#: the demo's teacher as its labels name it
LABEL = "CHGNet 0.3.0+D3(0, PBE parameters)"


def test_demo_theory_table_names_the_teacher(tmp_path):
    """config/demo.yaml labels with CHGNet + D3(zero): the workflow's summarize_labels writes
    results/init/theory.csv under the teacher's name and its dispersion, not CP2K's PBE+D3
    settings."""
    demo = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    params = workflow_params(demo, "summarize_labels", tmp_path / "parse")
    assert params["theory"] == LABEL
    labels = pd.DataFrame(
        {
            "composition": ["LPS75"] * 3,
            "frame": [0, 1, 2],
            "key": ["a", "b", "c"],
            "status": ["ok", "ok", "failed"],
            "engine_runs": [1, 1, 1],
        }
    )
    labels.to_csv(tmp_path / "labels.csv", index=False)
    out = {n: str(tmp_path / f"{n}.csv") for n in ("summary", "failures", "theory")}
    snakemake = types.SimpleNamespace(
        input=types.SimpleNamespace(labels=[str(tmp_path / "labels.csv")]),
        output=types.SimpleNamespace(**out),
        params=types.SimpleNamespace(**params),
        log=[str(tmp_path / "log.txt")],
    )
    runpy.run_path(
        str(REPO / "workflow" / "scripts" / "summarize_labels.py"),
        init_globals={"snakemake": snakemake},
    )
    theory = pd.read_csv(out["theory"])
    assert theory.to_dict("records") == [
        {"theory": LABEL, "source": "perturb", "composition": "LPS75", "frames": 2}
    ]


def test_each_engine_names_its_own_theory():
    """A teacher campaign whose dft section still holds CP2K's keys is labelled by the
    teacher; the same keys with engine cp2k are CP2K's theory."""
    base = {"compositions": [{"name": "a", "x": 0.75, "n_atoms": 16}]}
    cp2k = resolve_dft(validated(base)["dft"])
    teacher = {**cp2k, "engine": "mlip"}
    assert theory_label(engine_theory(cp2k)) == "PBE+D3 DZVP-MOLOPT-SR-GTH GTH-PBE 400/50 Ry"
    assert theory_label(engine_theory(teacher)) == "CHGNet 0.3.0"
    d3 = {**teacher, "teacher_dispersion": {"damping": "d3bj", "method": "PBE"}}
    assert theory_label(engine_theory(d3)) == "CHGNet 0.3.0+D3(BJ, PBE parameters)"
    assert get_engine("cp2k", cp2k).theory()["cutoff"] == 400  # Ry


def _teacher_campaign_importing_dft(tmp_path, li3ps4_8, **extra) -> dict:
    frame = li3ps4_8.copy()
    frame.calc = SinglePointCalculator(
        frame, energy=-100.0, forces=frame.positions * 0, stress=[0.01, 0.01, 0.01, 0, 0, 0]
    )
    write(tmp_path / "dft.extxyz", [frame], format="extxyz")
    entry = {
        "name": "my_dft",
        "format": "extxyz",
        "path": str(tmp_path / "dft.extxyz"),
        "composition": "LPS75",
        "theory": dict(DFT_THEORY),
        **extra,
    }
    return validated(
        {
            "compositions": [{"name": "LPS75", "x": 0.75, "n_atoms": 16}],
            "dft": {"engine": "mlip", "model": "chgnet-0.3.0"},
            "train": {"template": str(REPO / "config" / "deepmd-demo.json")},
            "init": {"import": [entry]},
        }
    )


@pytest.mark.parametrize("allow", [False, True])
def test_teacher_campaign_refuses_dft_frames_naming_both(tmp_path, li3ps4_8, allow):
    """DFT frames never join a teacher campaign (its ground truth is the teacher's own MD),
    not even with allow_mixed_theory; the message names both theories."""
    config = _teacher_campaign_importing_dft(tmp_path, li3ps4_8, allow_mixed_theory=allow)
    with pytest.raises(ConfigError) as err:
        check(config)
    message = str(err.value)
    assert "init.import[0] (my_dft)" in message
    assert "PBE+D3 DZVP-MOLOPT-SR-GTH 400 Ry" in message
    assert "CHGNet 0.3.0" in message
    # the same frames in a CP2K campaign at that level of theory are accepted
    config["dft"]["engine"] = "cp2k"
    check(config)


def test_teacher_frames_import_into_a_teacher_campaign(tmp_path, li3ps4_8):
    """A teacher theory can be declared (model, version, dispersion): the same teacher's frames
    join a teacher campaign; another teacher's only with allow_mixed_theory; a theory of
    neither shape is refused by the schema."""
    config = _teacher_campaign_importing_dft(tmp_path, li3ps4_8)
    entry = config["init"]["import"][0]
    entry["theory"] = {"model": "CHGNet", "model_version": "0.3.0", "dispersion": "none"}
    check(validated(config))
    entry["theory"] = {"model": "SevenNet-0", "model_version": "11Jul2024", "dispersion": "none"}
    with pytest.raises(ConfigError, match="model"):
        check(validated(config))
    entry["allow_mixed_theory"] = True
    check(validated(config))
    entry["theory"] = {"model": "CHGNet", "cutoff": 400}
    with pytest.raises(Exception, match="valid"):
        validated(config)
