"""Adapter: every iteration's models on the teacher-MD test set (lpsflow.teacher)."""

import os

from lpsflow.joblog import to_file
from lpsflow.teacher import errors_on_test_set
from lpsflow.training import dp_env

log = to_file(snakemake.log[0])
os.environ.update(dp_env(snakemake.threads))  # before TensorFlow loads
p = snakemake.params  # what each input is: iteration-major members; each test set's run
table = errors_on_test_set(
    list(snakemake.input.models), p.n_models, list(snakemake.input.test), p.test_runs
)
log.info("\n%s", table.to_string(index=False))
table.to_csv(snakemake.output.rmse, index=False)
