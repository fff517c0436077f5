# Config validation, typed settings, tables of what to run, paths and input functions.
# The only place that reads the config; other rules files use the helpers defined here.
# The loop's own mechanics (verdicts, candidate frames, final iteration) are in loop.smk.
import os
import sys
from pathlib import Path

import yaml
from snakemake.utils import min_version, validate

min_version("9.0")

# The science package (src/lpsflow) is importable here and in every job, also in conda
# environments that do not pip-install it: jobs inherit PYTHONPATH (set, not required).
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p),
    # envs/*.post-deploy.sh install lpsflow from here
    LPSFLOW_WORKFLOW=str(workflow.basedir),
)

from lpsflow import config as lpsconfig  # noqa: E402
from lpsflow.settings import Settings  # noqa: E402
from lpsflow.dft.base import labels_in_stage, resolve_dft  # noqa: E402
from lpsflow import resources as lpsres  # noqa: E402  (limits, MPI, GPUs)
from lpsflow.importing import engine_theory, theory_label  # noqa: E402
from lpsflow import glass_density  # noqa: E402
from lpsflow import crystals as lpscrystals  # noqa: E402

# nested --config values arrive as strings ("loop={max_iterations: 5}"): typed by the schema
with open(Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml") as _f:
    lpsconfig.coerce_types(config, yaml.safe_load(_f))
validate(config, schema="../schemas/config.schema.yaml")
# relative input paths: the campaign folder's file, else the workflow's shipped one
PATH_NOTES = lpsconfig.resolve_paths(config, Path.cwd(), workflow.basedir)
try:
    lpsconfig.check(config)
    lpsconfig.check_writable("results")  # creates nothing: parsing leaves no folders
except lpsconfig.ConfigError as err:
    raise ValueError(f"config error: {err}") from None
if workflow.is_main_process:  # once per campaign, not in every job
    try:  # CP2K's own check of dft.overrides (seconds; only when there are overrides)
        OVERRIDES_NOTE = lpsconfig.check_dft_overrides(config)
    except lpsconfig.ConfigError as err:
        raise ValueError(f"config error: {err}") from None
    if OVERRIDES_NOTE:
        print(f"lpsflow warning: {OVERRIDES_NOTE}", file=sys.stderr)
    # where the settings came from: a campaign run elsewhere, or a profile's site file;
    # the profile's and the command line's config files are applied last
    cli = list(workflow.config_settings.configfiles)
    files = [f for f in workflow.configfiles if f not in cli] + cli
    order = " < ".join(str(f) for f in files)
    print(f"lpsflow: campaign {Path.cwd()}; config files {order}", file=sys.stderr)
    if config["dft"]["engine"] == "cp2k":
        print(f"lpsflow: dft.command = {config['dft']['command']!r}", file=sys.stderr)
    for note in PATH_NOTES:
        print(f"lpsflow: {note}", file=sys.stderr)
    for warning in lpsconfig.coverage_warnings(config):
        print(f"lpsflow warning: {warning}", file=sys.stderr)

# Every rule's params come from S (science only; see README "How settings reach the code").
S = Settings.from_config(config)
COMPOSITIONS = S.compositions
TYPE_MAP = S.type_map
N_MODELS = S.train.n_models
EXPLORE_JOBS = S.explore.jobs
TEACHER = (
    S.dft.science.engine == "mlip"
)  # teacher-labelled: its own MD is the ground truth
# a cheap in-process engine (the teacher) labels a stage in its collecting job; CP2K gets
# one job per frame (lpsflow.dft.labels_in_stage)
LABEL_IN_STAGE = labels_in_stage(S.dft.science.engine)
IMPORTS = {entry["name"]: entry for entry in lpsconfig.imports(config)}
INIT_METHOD = config["init"]["method"]


# light table work runs where snakemake runs, never as a cluster job
localrules:
    all,
    summarize_labels,
    summarize_iteration,
    summarize_iterations,


if not LABEL_IN_STAGE:  # then it only gathers tables

    localrules:
        collect_candidate_labels,


wildcard_constraints:
    comp="|".join(COMPOSITIONS),
    replica=r"\d+",
    frame=r"\d+",
    iter=r"\d{3}",
    model=r"\d+",
    temp=r"[0-9.]+",
    imp="|".join(IMPORTS) or "no-imports",


# ---- paths: the results layout, built here only ----
def it(i):
    """Iteration number as used in paths (iter_000, iter_001, ...)."""
    return f"{int(i):03d}"


def temp_label(t):
    """Temperature as used in paths (T600, T812.5)."""
    return f"{t:g}"


def sample_path(comp, replica):
    return f"results/sample/{comp}/replica_{replica}.extxyz"


def init_labels(comp):
    return f"results/init/{comp}/labels.csv"


def iter_dir(iteration):
    return f"results/iter_{it(iteration)}"


def graph_path(iteration, model):
    return f"{iter_dir(iteration)}/train/model_{model}/graph.pb"


def models(iteration):
    return [graph_path(iteration, m) for m in range(N_MODELS)]


def explore_path(iteration, comp, job, name):
    return f"{iter_dir(iteration)}/explore/{comp}/job_{job}/{name}"


def candidate_labels(iteration):
    return f"{iter_dir(iteration)}/label/labels.csv"


def glass_dir(comp, replica):
    """Folder of replica ``replica`` (an independent glass) of a composition."""
    return f"results/production/{comp}/replica_{replica}"


def transport_path(comp, replica, temp, name):
    return f"{glass_dir(comp, replica)}/T{temp_label(float(temp))}/{name}"


# ---- input functions ----
def replicas_of(wildcards):
    comp = COMPOSITIONS[wildcards.comp]
    return [sample_path(wildcards.comp, r) for r in range(comp["replicas"])]


def aimd_manifest(comp, replica):
    return f"results/init/{comp}/aimd/replica_{replica}.csv"


def aimd_last(comp, replica):
    """Last labelled frame of a cell's initial-data MD (the first exploration's start)."""
    return f"results/init/{comp}/aimd/replica_{replica}.extxyz"


def import_table(name):
    return f"results/init/import/{name}/labels.csv"


def frame_manifests(wildcards):
    """Manifests of a composition's initial labels: one per perturbed frame (job count =
    frames; batching is the profile's) and/or one per AIMD run (init.method)."""
    comp = COMPOSITIONS[wildcards.comp]
    n = 0 if LABEL_IN_STAGE else lpsconfig.n_frames(config, comp)
    manifests = [
        f"results/init/{wildcards.comp}/labels/frame_{f}.csv" for f in range(n)
    ]
    if INIT_METHOD in ("aimd", "both"):
        manifests += [aimd_manifest(wildcards.comp, r) for r in range(comp["replicas"])]
    return manifests


def perturbed_frames(wildcards):
    """The perturbed frames of a composition, when init.method labels any."""
    if lpsconfig.n_frames(config, COMPOSITIONS[wildcards.comp]) == 0:
        return []
    return [f"results/init/{wildcards.comp}/frames.extxyz"]


def init_tables():
    """Label tables of the initial data: every composition's, then every import's."""
    return [init_labels(comp) for comp in COMPOSITIONS] + [
        import_table(name) for name in IMPORTS
    ]


def models_of(wildcards):
    return models(wildcards.iter)


def labels_before(wildcards):
    """Label tables that feed the training data of iteration ``iter``."""
    init = init_tables()
    return init + [candidate_labels(j) for j in range(int(wildcards.iter))]


def init_graph(wildcards):
    """Previous iteration's model of the same member, unless training from scratch."""
    i = int(wildcards.iter)
    if i == 0 or S.train.from_scratch:
        return []
    return graph_path(i - 1, wildcards.model)


def start_frames(wildcards):
    """Iteration 0 starts from the sampled cells, or from the last frame of each cell's
    initial-data MD when there is one (init.method aimd or both: an equilibrated start);
    later iterations from each run's last trusted frame."""
    i, comp = int(wildcards.iter), wildcards.comp
    if i == 0:
        n = COMPOSITIONS[comp]["replicas"]
        if INIT_METHOD in ("aimd", "both"):
            return [aimd_last(comp, j % n) for j in range(len(EXPLORE_JOBS))]
        return [sample_path(comp, j % n) for j in range(len(EXPLORE_JOBS))]
    return [
        explore_path(i - 1, comp, j, "final.extxyz") for j in range(len(EXPLORE_JOBS))
    ]


def explore_outputs(name):
    """Output files ``name`` of every schedule job of one composition and iteration."""
    return [
        f"results/iter_{{iter}}/explore/{{comp}}/job_{j}/{name}"
        for j in range(len(EXPLORE_JOBS))
    ]


def run_temperature(job):
    """A schedule job's temperature as a label: 600, or 1200-300 for a ramp (K)."""
    t0, t1 = job["t_start"], job["t_end"]
    return str(t0) if t0 == t1 else f"{t0}-{t1}"


def explore_runs(wildcards):
    """Every exploration job of an iteration, keyed by meaning (composition, job, K)."""
    return [
        {"composition": comp, "job": j, "temperature": run_temperature(job)}
        for comp in COMPOSITIONS
        for j, job in enumerate(EXPLORE_JOBS)
    ]


def explore_files(name):
    def files(wildcards):
        return [
            explore_path(wildcards.iter, r["composition"], r["job"], name)
            for r in explore_runs(wildcards)
        ]

    return files


def production_runs(name):
    """``name`` (transport.json, msd.csv, ...) of every composition, replica and temperature."""
    return [
        transport_path(comp, r, t, name)
        for comp in COMPOSITIONS
        for r in range(S.production.replicas)
        for t in S.production.temperatures
    ]


def is_crystal(comp):
    """A composition given as a crystal file (transported as a crystal, never melted)."""
    return bool(COMPOSITIONS[comp].get("structure"))


def transport_results(wildcards):
    return production_runs("transport.json")


def glass_start_cell(wildcards):
    """Replica r of a production glass starts from sampled cell r (cycled if there are fewer)."""
    n_cells = COMPOSITIONS[wildcards.comp]["replicas"]
    return sample_path(wildcards.comp, int(wildcards.replica) % n_cells)


# ---- the glass stage: quench-rate glasses, shipped crystals (lpsflow.glass_density) ----
QUENCH_RATES = S.production.quench_rate_sensitivity  # K/ps
CRYSTAL_PHASES = glass_density.campaign_phases(list(COMPOSITIONS.values()))


def rate_label(rate):
    """Quench rate (K/ps) as used in paths (quench_90, quench_2.5)."""
    return f"{float(rate):g}"


def quench_records(comp, name, rate=None):
    """``name`` (quench.dat, density.json) of every replica's glass of a composition, made
    at the production rate or (``rate``) at a sensitivity rate."""
    base = (
        f"results/production/{comp}"
        if rate is None
        else f"results/production/{comp}/quench_{rate}"
    )
    sub = "melt_quench/" if name == "quench.dat" else ""
    return [f"{base}/replica_{r}/{sub}{name}" for r in range(S.production.replicas)]


def rate_transport_runs():
    """With quench-rate sensitivity: every transport run's transport.json at the production
    rate and at each further rate, with its rate (K/ps); none without."""
    if not QUENCH_RATES:
        return []
    runs = [
        {"rate": S.production.glass.quench_rate, "path": p}
        for p in production_runs("transport.json")
    ]
    return runs + [
        {
            "rate": float(q),
            "path": f"results/production/{c}/quench_{rate_label(q)}/replica_{r}/"
            f"T{temp_label(float(t))}/transport.json",
        }
        for q in QUENCH_RATES
        for c in COMPOSITIONS
        for r in range(S.production.replicas)
        for t in S.production.temperatures
    ]


def crystal_file(phase):
    """The shipped CIF of a crystal phase (lpsflow.crystals)."""
    return lpscrystals.path(phase)


def teacher_setting(key):
    """teacher_md.<key>, or production.<key> when left empty."""
    value = config["teacher_md"][key]
    return config["production"][key] if value is None else value


def teacher_temperatures():
    """Teacher temperatures that the DP production also ran (the compared ones)."""
    return [
        t
        for t in teacher_setting("temperatures")
        if t in config["production"]["temperatures"]
    ]


def teacher_runs(name):
    return [
        f"results/teacher/{comp}/T{temp_label(t)}/{name}"
        for comp in COMPOSITIONS
        for t in teacher_temperatures()
    ]


def teacher_report_inputs():
    """Extra report inputs of a teacher-labelled campaign (none otherwise)."""
    if not TEACHER:
        return {}
    return {
        "teacher_comparison": "results/teacher/comparison.csv",
        "teacher_arrhenius": "results/teacher/arrhenius.csv",
        "teacher_speed": "results/teacher/speed.csv",
        "teacher_test": "results/teacher/test_rmse.csv",
        "teacher_msd": teacher_runs("msd.csv"),
        "teacher_structure": [
            f"results/teacher/{c}/structure.json" for c in COMPOSITIONS
        ],
    }


def report_inputs(wildcards):
    """Tables the report reads; the per-iteration ones are listed in results/loop/tables.json
    by summarize_iterations (so this function needs no walk over the checkpoints).
    """
    comps = list(COMPOSITIONS)
    temps = S.production.temperatures
    return {
        "summary": "results/init/summary.csv",
        "init_failures": "results/init/failures.csv",
        "theory": "results/init/theory.csv",
        "iterations": "results/loop/iterations.csv",
        "loop_tables": "results/loop/tables.json",
        "manifest": "results/model/manifest.json",
        "parity": "results/model/parity.csv",
        "conductivity": "results/transport/conductivity.csv",
        "arrhenius": "results/transport/arrhenius.csv",
        "msd": production_runs("msd.csv"),
        "transport_runs": "results/transport/runs.csv",
        "structure": [f"results/production/{c}/structure.json" for c in comps],
        "melt_quench": [
            f"{glass_dir(c, r)}/melt_quench/model_devi.out"
            for c in comps
            for r in range(S.production.replicas)
        ],
        # replica 0 of each composition: densities and structure over each run
        "densities": [f"{glass_dir(c, 0)}/density.json" for c in comps],
        # glass and crystal densities against experiment, Tg, quench-rate sensitivity
        "glass_density": "results/production/density.csv",
        "glass_tg": "results/production/tg.csv",
        "quench_rates": "results/production/quench_rates.csv",
        "quench_rates_sigma": "results/production/quench_rates_sigma.csv",
        "npt": [transport_path(c, 0, t, "npt.json") for c in comps for t in temps],
        "structure_runs": [
            transport_path(c, 0, t, "structure.json") for c in comps for t in temps
        ],
        "samples": [sample_path(c, 0) for c in comps],
        **teacher_report_inputs(),
    }


def final_targets(wildcards):
    return ["results/report.html"]
