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

from lpsflow import config as lpsconfig  # noqa: E402

validate(config, schema="../schemas/config.schema.yaml")
try:
    lpsconfig.check(config)
except lpsconfig.ConfigError as err:
    raise ValueError(f"config error: {err}") from None

COMPOSITIONS = {c["name"]: c for c in config["compositions"]}
TYPE_MAP = lpsconfig.type_map(config)
DFT = lpsconfig.resolve_dft(config["dft"])


wildcard_constraints:
    comp="|".join(COMPOSITIONS),
    replica=r"\d+",
    batch=r"\d+",


# ---- paths ----
def sample_path(comp, replica):
    return f"results/sample/{comp}/replica_{replica}.extxyz"


def batch_manifest(comp, batch):
    return f"results/init/{comp}/labels/batch_{batch}.csv"


# ---- input functions ----
def replicas_of(wildcards):
    comp = COMPOSITIONS[wildcards.comp]
    return [sample_path(wildcards.comp, r) for r in range(comp["replicas"])]


def batches_of(wildcards):
    comp = COMPOSITIONS[wildcards.comp]
    return [
        batch_manifest(wildcards.comp, b)
        for b in range(lpsconfig.n_batches(config, comp))
    ]


def final_targets():
    return ["results/init/summary.csv"]
