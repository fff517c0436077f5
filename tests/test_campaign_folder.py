"""A campaign in a folder of its own, the workflow installed once (`-s REPO/Snakefile -d DIR`).

Relative input paths resolve against the campaign folder, then the workflow's folder; the
profile's site settings (slurm/site.yaml) survive a `--config` on the command line; nested
`--config` numbers are typed by the schema.
"""

import re
import shutil
import subprocess

import pytest
import yaml
from conftest import REPO, SCHEMA, SNAKEMAKE, tiny_campaign, validated
from snakemake.exceptions import WorkflowError

from lpsflow.config import coerce_types, resolve_paths

BASE = {"compositions": [{"name": "LPS75", "x": 0.75, "n_atoms": 48}]}


def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


def test_relative_inputs_prefer_the_campaign_then_the_workflow(tmp_path):
    config = validated(
        {
            "compositions": [
                {"name": "a", "structure": "src/lpsflow/data/crystals/Li2S.cif", "n_atoms": 48},
                {"name": "b", "structure": "mine.cif", "n_atoms": 48},
            ],
            "train": {"template": "config/deepmd.json"},
        }
    )
    (tmp_path / "mine.cif").write_text("x")
    notes = resolve_paths(config, tmp_path, REPO)
    # only in the workflow: its shipped file, by absolute path
    assert config["train"]["template"] == str(REPO / "config" / "deepmd.json")
    assert config["compositions"][0]["structure"] == str(
        REPO / "src/lpsflow/data/crystals/Li2S.cif"
    )
    assert config["compositions"][1]["structure"] == "mine.cif"  # the campaign's own file
    assert len(notes) == 2 and "train.template" in notes[0]
    # the campaign's own template wins over the shipped one; a missing file stays as written
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deepmd.json").write_text("{}")
    config["train"]["template"] = "config/deepmd.json"
    config["compositions"][1]["structure"] = "nowhere.cif"
    config["compositions"][0]["structure"] = "src/lpsflow/data/crystals/Li2S.cif"
    notes = resolve_paths(config, tmp_path, REPO)
    assert len(notes) == 1 and notes[0].startswith("compositions[0].structure: ")
    assert config["train"]["template"] == "config/deepmd.json"
    assert config["compositions"][1]["structure"] == "nowhere.cif"


def test_nested_config_strings_are_typed_by_the_schema():
    # what Snakemake makes of --config "loop={max_iterations: 5, accurate_ratio: 0.9}" ...
    config = {
        **BASE,
        "loop": {"max_iterations": "5", "accurate_ratio": "0.9"},
        "dft": {"retry_failed": "true", "cutoff": "300"},
        "production": {"temperatures": ["800", "1000.5"], "steps": "20000"},
        "explore": {
            "schedule": [{"ensemble": "npt", "temperature": ["1200", "300"], "pressures": ["1"]}]
        },
        "teacher_md": {"steps": "null"},
    }
    config = validated(coerce_types(config, schema()))
    assert config["loop"] == {"max_iterations": 5, "accurate_ratio": 0.9}
    assert config["dft"]["retry_failed"] is True and config["dft"]["cutoff"] == 300
    assert config["production"]["temperatures"] == [800, 1000.5]
    assert config["production"]["steps"] == 20000
    assert config["explore"]["schedule"][0]["temperature"] == [1200, 300]
    assert config["explore"]["schedule"][0]["pressures"] == [1]
    assert config["teacher_md"]["steps"] is None
    # text that is not a number stays text, and the schema names the key
    bad = coerce_types({**BASE, "loop": {"max_iterations": "five"}}, schema())
    with pytest.raises(WorkflowError, match="max_iterations"):
        validated(bad)
    # strings the schema wants stay strings
    assert coerce_types({"dft": {"basis": "1"}}, schema())["dft"]["basis"] == "1"


def campaign(folder) -> None:
    """A campaign folder holding only config/config.yaml (no templates, no profile)."""
    config = tiny_campaign()
    config["dft"]["command"] = "cp2k.psmp"
    config["explore"]["command"] = "lmp"
    (folder / "config").mkdir(parents=True)
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config))


def dry_run(cwd, folder, *args):
    """`snakemake -n` of the installed workflow on ``folder``, started from ``cwd``."""
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(folder), "-n", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def said(proc, prefix: str) -> str:
    return next((ln for ln in proc.stderr.splitlines() if ln.startswith(prefix)), "")


@pytest.mark.skipif(shutil.which("cp2k.psmp") is None, reason="cp2k.psmp not installed")
def test_campaign_folder_plans_with_the_profile_and_config_overrides(tmp_path):
    folder, elsewhere = tmp_path / "my_campaign", tmp_path / "elsewhere"
    campaign(folder)
    elsewhere.mkdir()
    profile = str(REPO / "slurm")
    site = yaml.safe_load((REPO / "slurm" / "site.yaml").read_text())["dft"]["command"]
    proc = dry_run(elsewhere, folder, "--profile", profile, "--config", "loop={max_iterations: 1}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the profile's site file survives the --config, which itself arrived typed
    assert said(proc, "lpsflow: dft.command") == f"lpsflow: dft.command = {site!r}"
    assert re.search(r"^select_candidates\s+1$", proc.stdout, re.M)
    # the shipped template stands in for the campaign's missing one
    assert "train.template: config/deepmd-demo.json is not in" in proc.stderr
    assert not list(elsewhere.iterdir())  # nothing written where snakemake was started

    # with --configfile on the command line the site file is listed too (README)
    extra = tmp_path / "extra.yaml"
    extra.write_text("loop: {max_iterations: 1}\n")
    proc = dry_run(
        elsewhere,
        folder,
        "--profile",
        profile,
        "--configfile",
        str(extra),
        str(REPO / "slurm" / "site.yaml"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert said(proc, "lpsflow: dft.command") == f"lpsflow: dft.command = {site!r}"

    # why the site file: a profile's `config:` entry is replaced by any --config
    old = yaml.safe_load((REPO / "slurm" / "config.yaml").read_text())
    old.pop("configfile")
    old["config"] = [f"dft={{command: '{site}'}}"]
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "config.yaml").write_text(yaml.safe_dump(old))
    proc = dry_run(
        elsewhere,
        folder,
        "--profile",
        str(tmp_path / "old"),
        "--config",
        "loop={max_iterations: 1}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert said(proc, "lpsflow: dft.command") == "lpsflow: dft.command = 'cp2k.psmp'"


def test_a_folder_without_config_says_how_to_start(tmp_path):
    proc = dry_run(tmp_path, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"no config/config.yaml in the campaign folder {tmp_path}" in out
    assert "cp " in out and str(REPO / "config" / "config.yaml") in out
