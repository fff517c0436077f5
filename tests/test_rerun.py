"""Only science reruns science: after a finished campaign, execution settings plan nothing and
one science key plans exactly the jobs that depend on it (Snakemake's default rerun triggers).

What a dry run can show: jobs after a checkpoint that reruns (the selection) appear only once
it has run. Temporary files are regenerated when a job that reads them reruns: the
exploration trajectories (for a new selection) and the production Li trajectories (for a
new transport analysis).
"""

from __future__ import annotations

import copy
import shutil

import pytest
import yaml
from conftest import REPO, run_workflow, tiny_campaign

pytestmark = pytest.mark.slow

#: rules upstream of each stage (never rerun by a key of a later stage)
SAMPLING = {"sample_structure", "perturb_structures"}
INIT_LABELS = SAMPLING | {"label_frame", "collect_labels", "summarize_labels"}
#: what follows the final model (rerun whenever the final model changes)
AFTER_MODEL = {
    "export_model",
    "parity_data",
    "make_glass",
    "analyze_glass",
    "run_production",
    "analyze_transport",
    "summarize_transport",
    "make_report",
}


def planned(workdir, config, *args) -> dict[str, int]:
    """Jobs per rule that ``snakemake -n`` plans (rule all left out)."""
    proc = run_workflow(workdir, config, "-n", "--quiet", "rules", *args)
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    lines = text.split("Job stats:", 1)[1].splitlines()[3:]
    jobs = {}
    for line in lines:
        if line.startswith("total"):
            break
        name, count = line.split()
        jobs[name] = int(count)
    jobs.pop("all", None)
    return jobs


@pytest.fixture
def finished(local_campaign, tmp_path):
    """A copy of the finished tiny campaign (files, modification times, Snakemake metadata)."""
    work = tmp_path / "campaign"
    shutil.copytree(local_campaign, work, symlinks=True)
    return work


def test_execution_settings_plan_nothing(finished):
    config = tiny_campaign()
    config["dft"].update(
        threads=2,
        timeout_s=77,
        max_attempts=3,
        retry_failed=True,
        scf={"max_scf": 7, "mixing_alpha": 0.2, "nbroyden": 4, "robust_factor": 2},
        store="results/store_elsewhere",
    )
    config["train"]["threads"] = 2
    config["explore"].update(threads=2, command="lmp -sf omp")
    config["production"]["threads"] = 2
    # time limits, memory and GPU requests sized from the config (lpsflow.resources)
    config["resources"] = {
        "dp_atom_steps_per_s": 1234.0,
        "train_s_per_step": 0.5,
        "safety": 3.0,
        "mem_mb_per_cpu": 3000,
        "gpus": 1,
        "gpu_model": "a100",
        "gpu_speedup": 20.0,
    }
    # and the Slurm profile's site settings (dft.command with srun), as --profile applies them
    site = REPO / "slurm" / "site.yaml"
    assert yaml.safe_load(site.read_text())["dft"], "the Slurm site file sets no dft key any more"
    assert planned(finished, config, "--configfile", str(site)) == {}


def test_science_keys_rerun_exactly_their_jobs(finished):
    base = tiny_campaign()

    def plan(change) -> dict[str, int]:
        config = copy.deepcopy(base)
        change(config)
        return planned(finished, config)

    # production: one more temperature -> its run, transport and Li-environment analysis for
    # each composition and replica (2 x 2), the structure over replica 0's run, the tables and
    # the report
    jobs = plan(lambda c: c["production"].update(temperatures=[800, 900, 1000]))
    assert jobs == {
        "run_production": 4,
        "analyze_transport": 4,
        "analyze_environment": 4,
        "analyze_structure": 2,
        "summarize_transport": 1,
        "summarize_environment": 1,
        "make_report": 1,
    }
    # analysis: the Haven ratio reruns the analysis of every run (2 x 2 x 2; the DCD
    # trajectories are kept, so no MD), not the glass, the model or the loop
    jobs = plan(lambda c: c["production"].update(haven_ratio=0.5))
    assert jobs == {
        "analyze_transport": 8,
        "summarize_transport": 1,
        "make_report": 1,
    }

    # selection: iteration 0's checkpoint (and the MD of its temporary trajectories); no
    # labelling, data or training before it
    jobs = plan(lambda c: c["select"].update(trust_lo=0.25))
    assert jobs["select_candidates"] == 1 and jobs["explore_md"] == 2
    assert not set(jobs) & (INIT_LABELS | {"build_dataset", "compute_sel", "train_model"})

    # training from previous weights: iteration 1's members and what follows
    jobs = plan(lambda c: c["train"].update(init_steps=150))
    assert jobs["train_model"] == 2 and jobs["explore_md"] == 2
    assert not set(jobs) & (INIT_LABELS | {"build_dataset", "compute_sel", "label_candidate"})
    assert AFTER_MODEL <= set(jobs)

    # DFT physics: every label (the store key changes) and everything after, no sampling
    jobs = plan(lambda c: c["dft"].update(smearing_temperature=500))
    assert jobs["label_frame"] == 8 and jobs["collect_labels"] == 2
    assert not set(jobs) & SAMPLING and AFTER_MODEL <= set(jobs)
