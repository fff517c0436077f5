# Config validation, typed settings S, the tables of what to run and wildcard constraints.
# The only place that reads the config. It writes no path: each path is written once, in the
# output of the rule that makes it; consumers take it from rules.<producer>.output (directly,
# or in the input functions of their own stage file, which expand it).
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
# teacher-labelled: its own MD is the ground truth (teacher.smk)
TEACHER = S.dft.science.engine == "mlip"
# a cheap in-process engine (the teacher) labels a stage in its collecting job; CP2K gets
# one job per frame (lpsflow.dft.labels_in_stage)
LABEL_IN_STAGE = labels_in_stage(S.dft.science.engine)
IMPORTS = {entry["name"]: entry for entry in lpsconfig.imports(config)}
INIT_METHOD = S.init.method
REPLICAS = range(S.production.replicas)  # production glasses per composition
# the glass stage: quench-rate glasses, shipped crystals (lpsflow.glass_density)
QUENCH_RATES = S.production.quench_rate_sensitivity  # K/ps
CRYSTAL_PHASES = glass_density.campaign_phases(list(COMPOSITIONS.values()))


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


# ---- wildcard values: how a number is written in a path ----
def it(i):
    """Iteration number as a wildcard value (000, 001, ...)."""
    return f"{int(i):03d}"


def temp_label(t):
    """Temperature as a wildcard value (600, 812.5)."""
    return f"{float(t):g}"


def rate_label(rate):
    """Quench rate (K/ps) as a wildcard value (90, 2.5)."""
    return f"{float(rate):g}"


def is_crystal(comp):
    """A composition given as a crystal file (transported as a crystal, never melted)."""
    return bool(COMPOSITIONS[comp].get("structure"))


# ---- the production runs: (composition, replica, temperature) of every transport run ----
PRODUCTION_RUNS = [
    {"comp": c, "replica": r, "temp": temp_label(t)}
    for c in COMPOSITIONS
    for r in REPLICAS
    for t in S.production.temperatures
]


def run_metadata(runs=PRODUCTION_RUNS):
    """What each run is, for scripts reading a list of per-run files in this order."""
    return [
        {
            "composition": r["comp"],
            "replica": int(r["replica"]),
            "temperature_K": float(r["temp"]),
        }
        for r in runs
    ]


def filled(pattern, **wildcards):
    """The one path of a rule's output ``pattern`` with every wildcard given."""
    (path,) = expand(pattern, **wildcards)
    return path


def each_run(pattern, runs=None):
    """``pattern`` (a per-run output) for every production run, in PRODUCTION_RUNS order."""
    runs = PRODUCTION_RUNS if runs is None else runs
    return expand(
        pattern,
        zip,
        comp=[r["comp"] for r in runs],
        replica=[r["replica"] for r in runs],
        temp=[r["temp"] for r in runs],
    )
