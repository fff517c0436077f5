#!/usr/bin/env bash
# Run by Snakemake in this environment right after creating it (--use-conda): installs lpsflow,
# the workflow's own package, as an editable install without dependencies (the environment
# file lists them; pip would otherwise add PyPI's deepmd-kit and TensorFlow). The Snakefile
# sets LPSFLOW_WORKFLOW to the folder of the workflow in use.
set -euo pipefail
: "${LPSFLOW_WORKFLOW:?not set: run it through the Snakefile of the workflow}"
python -m pip install --no-deps --editable "$LPSFLOW_WORKFLOW"
