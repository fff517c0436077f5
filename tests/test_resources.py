"""Time limits, memory, MPI ranks and GPUs of the heavy jobs, sized from the config
(lpsflow.resources), and what a `--profile slurm` dry run gives the jobs."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import time
from types import SimpleNamespace

import pytest
import yaml
from conftest import REPO, SCHEMA, SNAKEMAKE, shipped, validated

from lpsflow import resources as R


def default_config() -> dict:
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    validate(config, str(SCHEMA))
    return config


def production_formula(config: dict, threads: int) -> int:
    """The documented formula, written out: atoms x steps / (speed x cores) x safety + overhead."""
    p, r = config["production"], config["resources"]
    recorded = max(p["steps"], p["extend_up_to_ps"] * 1000 / p["timestep_fs"])
    steps = p["npt_steps"] + p["equilibration_steps"] + recorded
    seconds = p["n_atoms"] * steps / (r["dp_atom_steps_per_s"] * threads)
    return max(math.ceil(seconds * r["safety"] / 60 + r["overhead_min"]), r["min_runtime_min"])


def test_production_runtime_follows_atoms_steps_and_measured_speed():
    config = default_config()
    wc = SimpleNamespace(comp="LPS75", replica="0", temp="600")
    res = R.rule_resources("run_production", config)
    assert res["runtime"](wc, 1) == production_formula(config, 1)
    assert res["runtime"](wc, 8) == production_formula(config, 8) < res["runtime"](wc, 1)
    longer = {**config, "production": {**config["production"], "steps": 10 * 10**6}}
    longer["production"]["extend_up_to_ps"] = 0
    assert R.rule_resources("run_production", longer)["runtime"](wc, 1) == production_formula(
        longer, 1
    )
    faster = {**config, "resources": {**config["resources"], "dp_atom_steps_per_s": 12000.0}}
    assert R.run_production(faster, 1)["runtime"] < R.run_production(config, 1)["runtime"]
    assert "gpu" not in res and "mpi" not in res  # CPU only by default


def test_glass_teacher_training_and_labels_sized_from_their_own_steps():
    config = default_config()
    p, r = config["production"], config["resources"]
    quench = round((p["melt_temperature"] - p["quench_to"]) / p["quench_rate"] / 1e-3)
    steps = p["melt_steps"] + quench + p["anneal_steps"] + p["npt_steps"]
    expected = math.ceil(p["n_atoms"] * steps / r["dp_atom_steps_per_s"] * 2 / 60 + 5)
    assert R.make_glass(config, 1)["runtime"] == expected
    assert R.make_glass(config, 1, quench_rate=p["quench_rate"] / 10)["runtime"] > expected
    # the teacher: its measured memory (5,832 MiB at 1,024 atoms) scaled to the cell, x safety
    teacher = R.teacher_md(config, 1)
    assert teacher["mem_mb"] == math.ceil(5832 * 1.048576 * p["n_atoms"] / 1024 * 2)
    t = config["train"]
    assert R.train_model(config, False)["runtime"] == math.ceil(
        t["steps"] * r["train_s_per_step"] * 2 / 60 + 5
    )
    assert R.train_model(config, True)["runtime"] < R.train_model(config, False)["runtime"]
    d = config["dft"]
    assert R.label_frame(config)["runtime"] == math.ceil(
        d["timeout_s"] * d["max_attempts"] / 60 + 5
    )


def test_teacher_job_steps_are_those_of_the_typed_settings():
    """A teacher_md job is sized from the steps it runs: each of its keys left null falls
    back to the production's, by the same rule as TeacherMdSettings (one rule, two users)."""
    from lpsflow.settings import TeacherMdSettings

    config = validated(yaml.safe_load((REPO / "config" / "units.yaml").read_text()))
    p = config["production"]
    for teacher in (
        {**config["teacher_md"], "npt_steps": None, "steps": None},
        {**config["teacher_md"], "npt_steps": 123, "equilibration_steps": None, "steps": 456},
    ):
        run = {**config, "teacher_md": teacher}
        t = TeacherMdSettings.resolve(teacher, p)
        assert R.teacher_steps(run) == t.npt_steps + t.equilibration_steps + t.steps
    assert R.teacher_steps(run) == 123 + p["equilibration_steps"] + 456


def test_mpi_declared_for_cp2k_only_above_one_rank():
    config = default_config()
    assert R.mpi_resources(config) == {"tasks": 1}  # the plugin refuses mpi with one task
    config["dft"]["mpi_ranks"] = 4
    assert R.mpi_resources(config) == {"tasks": 4, "mpi": "srun"}
    for rule in ("label_frame", "label_candidate", "aimd_init"):
        assert R.rule_resources(rule, config)["tasks"] == 4
    for rule in ("train_model", "explore_md", "run_production", "make_glass", "teacher_md"):
        assert "mpi" not in R.rule_resources(rule, config, 3)
    # more ranks: a shorter AIMD (the step time is shared by the ranks)
    one = {**config, "dft": {**config["dft"], "mpi_ranks": 1}}
    assert R.aimd_init(config, 96)["runtime"] < R.aimd_init(one, 96)["runtime"]


def test_gpu_switch_reaches_exactly_training_exploration_and_production():
    config = default_config()
    config["resources"].update(gpus=1, gpu_model="a100")
    with_gpu = {
        rule
        for rule in R.SIZED_RULES
        if "gpu" in R.rule_resources(rule, config, 3)
        and "gpu_model" in R.rule_resources(rule, config, 3)
    }
    assert with_gpu == {"train_model", "explore_md", "run_production"}
    assert R.rule_resources("train_model", config)["gpu"] == 1


def test_every_sized_rule_declares_its_resources_in_the_workflow():
    """Each sized rule's resources: line calls lpsflow.resources with its own name."""
    text = "".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    for rule in R.SIZED_RULES:
        block = text.split(f"rule {rule}:", 1)[1].split("\nrule ", 1)[0]
        assert f'lpsres.rule_resources("{rule}", config' in block, rule


@pytest.mark.slow
def test_dry_run_gives_default_production_job_the_formula(tmp_path):
    """`snakemake -n --profile slurm` of the default config: a production job's time limit is
    the formula's (the profile keeps site settings and does not replace it)."""
    config = default_config()
    (tmp_path / "config").mkdir()
    shutil.copy2(REPO / "config" / "config.yaml", tmp_path / "config")
    for template in (REPO / "config").glob("*.json"):
        shutil.copy2(template, tmp_path / "config")
    shutil.copytree(REPO / "slurm", tmp_path / "slurm")
    start = time.time() - 600
    for k, name in enumerate(
        ["results/model/manifest.json", "results/sample/LPS75/replica_0.extxyz"]
    ):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
        os.utime(path, (start + k, start + k))
    target = "results/production/LPS75/replica_0/T600/li.dcd"
    proc = subprocess.run(
        [SNAKEMAKE, "-n", "-s", str(REPO / "Snakefile"), "--profile", "slurm", target]
        + ["--allowed-rules", "make_glass", "run_production"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    block = out.split("rule run_production:", 1)[1].split("\n\n", 1)[0]
    runtime = int(block.split("runtime=", 1)[1].split(",")[0].split()[0])
    threads = int(block.split("threads: ", 1)[1].split()[0]) if "threads: " in block else 1
    assert runtime == production_formula(config, threads)


def test_a_teacher_campaign_sizes_its_initial_md_as_the_teacher_not_cp2k():
    """With dft.engine mlip, aimd_init runs the teacher's own MD (seconds per 100 steps of
    ~100 atoms), not CP2K: its limit follows the teacher's speed and asks for no MPI ranks."""
    config = validated(shipped("validation.yaml"))
    teacher = R.aimd_init(config, 96)
    as_cp2k = R.aimd_init({**config, "dft": {**config["dft"], "engine": "cp2k"}}, 96)
    r = R.ResourceSettings.from_config(config)
    expected = R.md_minutes(
        96, config["init"]["aimd"]["steps"] + 1, r.teacher_atom_steps_per_s, 1, r
    )
    assert teacher["runtime"] == R.limit(expected, r) < as_cp2k["runtime"]
    resources = R.rule_resources("aimd_init", config)
    assert "tasks" not in resources and "mpi" not in resources
