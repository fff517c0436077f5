# Config validation, tables of what to run, paths and input functions. The only place
# that reads the config; other rules files use the helpers defined here.
import os
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

# The science package (src/lpsflow) is importable here and in every job, also in conda
# environments that do not pip-install it: jobs inherit PYTHONPATH (set, not required).
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)
)

import json  # noqa: E402
import math  # noqa: E402

from lpsflow import config as lpsconfig  # noqa: E402
from lpsflow.exploration import schedule_jobs  # noqa: E402
from lpsflow.importing import dft_theory, theory_label  # noqa: E402

validate(config, schema="../schemas/config.schema.yaml")
try:
    lpsconfig.check(config)
    lpsconfig.check_writable("results")
except lpsconfig.ConfigError as err:
    raise ValueError(f"config error: {err}") from None

COMPOSITIONS = {c["name"]: c for c in config["compositions"]}
TYPE_MAP = lpsconfig.type_map(config)
DFT = lpsconfig.resolve_dft(config["dft"])
N_MODELS = config["train"]["n_models"]
MAX_ITERATIONS = config["loop"]["max_iterations"]
EXPLORE_JOBS = schedule_jobs(config["explore"]["schedule"])
IMPORTS = {entry["name"]: entry for entry in lpsconfig.imports(config)}
INIT_METHOD = config["init"]["method"]


# light table work runs where snakemake runs, never as a cluster job
localrules:
    all,
    summarize_labels,
    collect_candidate_labels,
    summarize_iterations,


wildcard_constraints:
    comp="|".join(COMPOSITIONS),
    replica=r"\d+",
    batch=r"\d+",
    iter=r"\d{3}",
    model=r"\d+",
    temp=r"[0-9.]+",
    imp="|".join(IMPORTS) or "no-imports",


# ---- paths ----
def sample_path(comp, replica):
    return f"results/sample/{comp}/replica_{replica}.extxyz"


def batch_manifest(comp, batch):
    return f"results/init/{comp}/labels/batch_{batch}.csv"


# ---- input functions ----
def replicas_of(wildcards):
    comp = COMPOSITIONS[wildcards.comp]
    return [sample_path(wildcards.comp, r) for r in range(comp["replicas"])]


def aimd_manifest(comp, replica):
    return f"results/init/{comp}/aimd/replica_{replica}.csv"


def import_table(name):
    return f"results/init/import/{name}/labels.csv"


def batches_of(wildcards):
    """Manifests of a composition's initial labels: perturbed-frame batches and/or AIMD runs."""
    comp = COMPOSITIONS[wildcards.comp]
    manifests = [
        batch_manifest(wildcards.comp, b)
        for b in range(lpsconfig.n_batches(config, comp))
    ]
    if INIT_METHOD in ("aimd", "both"):
        manifests += [aimd_manifest(wildcards.comp, r) for r in range(comp["replicas"])]
    return manifests


def init_tables():
    """Label tables of the initial data: every composition's, then every import's."""
    return expand("results/init/{comp}/labels.csv", comp=COMPOSITIONS) + [
        import_table(name) for name in IMPORTS
    ]


def it(i):
    """Iteration number as used in paths (iter_000, iter_001, ...)."""
    return f"{int(i):03d}"


def models(iteration):
    return [
        f"results/iter_{it(iteration)}/train/model_{m}/graph.pb"
        for m in range(N_MODELS)
    ]


def models_of(wildcards):
    return models(wildcards.iter)


def labels_before(wildcards):
    """Label tables that feed the training data of iteration ``iter``."""
    init = init_tables()
    earlier = [
        f"results/iter_{it(j)}/label/labels.csv" for j in range(int(wildcards.iter))
    ]
    return init + earlier


def init_graph(wildcards):
    """Previous iteration's model of the same member, unless training from scratch."""
    i = int(wildcards.iter)
    if i == 0 or config["train"]["from_scratch"]:
        return []
    return f"results/iter_{it(i - 1)}/train/model_{wildcards.model}/graph.pb"


def start_frames(wildcards):
    """Iteration 0 starts from the sampled cells; later ones from each run's last frame."""
    i, comp = int(wildcards.iter), wildcards.comp
    if i == 0:
        n = COMPOSITIONS[comp]["replicas"]
        return [sample_path(comp, j % n) for j in range(len(EXPLORE_JOBS))]
    return [
        f"results/iter_{it(i - 1)}/explore/{comp}/job_{j}/final.extxyz"
        for j in range(len(EXPLORE_JOBS))
    ]


def explore_outputs(name):
    """Output files ``name`` of every schedule job of one composition and iteration."""
    return [
        f"results/iter_{{iter}}/explore/{{comp}}/job_{j}/{name}"
        for j in range(len(EXPLORE_JOBS))
    ]


def explore_runs(wildcards, name):
    return [
        f"results/iter_{wildcards.iter}/explore/{comp}/job_{j}/{name}"
        for comp in COMPOSITIONS
        for j in range(len(EXPLORE_JOBS))
    ]


def verdict(iteration):
    """Selection verdict of an iteration (waits for its checkpoint)."""
    path = checkpoints.select_candidates.get(iter=it(iteration)).output.verdict
    with open(path) as fh:
        return json.load(fh)


def candidate_batches(wildcards):
    n = verdict(wildcards.iter)["n_selected"]
    per_job = config["dft"]["frames_per_job"]
    return [
        f"results/iter_{wildcards.iter}/label/batch_{b}.csv"
        for b in range(math.ceil(n / per_job))
    ]


def final_iteration():
    """First converged (or stalled) iteration, or the last allowed one (walks the checkpoints)."""
    for i in range(MAX_ITERATIONS):
        if verdict(i)["stop"]:
            return i
    return MAX_ITERATIONS - 1


def final_model_inputs(wildcards):
    """The ensemble and data of the final iteration (one walk over the checkpoints)."""
    last = final_iteration()
    return {"models": models(last), "data": f"results/iter_{it(last)}/data"}


def loop_tables(wildcards):
    """Every table of iterations 0 .. final (one walk over the checkpoints)."""
    last = final_iteration()
    return {
        "rmse": [f"results/iter_{it(i)}/train/rmse.csv" for i in range(last + 1)],
        "ratios": [f"results/iter_{it(i)}/select/ratios.csv" for i in range(last + 1)],
        "frames": [f"results/iter_{it(i)}/select/frames.csv" for i in range(last + 1)],
        "datasets": [f"results/iter_{it(i)}/dataset.csv" for i in range(last + 1)],
        "verdicts": [
            f"results/iter_{it(i)}/select/verdict.json" for i in range(last + 1)
        ],
        "labels": [f"results/iter_{it(i)}/label/labels.csv" for i in range(last)],
    }


def temp_label(t):
    """Temperature as used in paths (T600, T812.5)."""
    return f"{t:g}"


def transport_results(wildcards):
    return [
        f"results/production/{comp}/T{temp_label(t)}/transport.json"
        for comp in COMPOSITIONS
        for t in config["production"]["temperatures"]
    ]


def report_inputs(wildcards):
    """Tables the report reads; per-iteration ones are found through iterations.csv, whose
    rule depends on all of them (so this function needs no walk over the checkpoints).
    """
    comps = list(COMPOSITIONS)
    temps = [temp_label(t) for t in config["production"]["temperatures"]]
    return {
        "summary": "results/init/summary.csv",
        "init_failures": "results/init/failures.csv",
        "theory": "results/init/theory.csv",
        "iterations": "results/loop/iterations.csv",
        "manifest": "results/model/manifest.json",
        "parity": "results/model/parity.csv",
        "conductivity": "results/transport/conductivity.csv",
        "arrhenius": "results/transport/arrhenius.csv",
        "msd": [f"results/production/{c}/T{t}/msd.csv" for c in comps for t in temps],
        "structure": [f"results/production/{c}/structure.json" for c in comps],
        "samples": [sample_path(c, 0) for c in comps],
    }


def final_targets(wildcards):
    return ["results/report.html"]
