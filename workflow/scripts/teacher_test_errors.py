"""Adapter: every iteration's models on the teacher-MD test set (lpsflow.teacher)."""

import os

from lpsflow.joblog import to_file
from lpsflow.teacher import errors_on_test_set
from lpsflow.training import dp_env

log = to_file(snakemake.log[0])
os.environ.update(dp_env(snakemake.threads))  # before TensorFlow loads
table = errors_on_test_set(list(snakemake.input.models), list(snakemake.input.test))
log.info("\n%s", table.to_string(index=False))
table.to_csv(snakemake.output.rmse, index=False)
