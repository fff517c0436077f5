"""Adapter: train and freeze one ensemble member (lpsflow.training)."""

import json
from pathlib import Path

from lpsflow.joblog import to_file
from lpsflow.seeds import derive
from lpsflow.settings import MemberSettings
from lpsflow.training import deepmd_input, system_dirs, train_member

log = to_file(snakemake.log[0])
p, wc = snakemake.params, snakemake.wildcards
settings = MemberSettings.from_params(p.member)
member = int(wc.model)
init = snakemake.input.init or None  # empty when training from scratch
init = init if isinstance(init, str) or init is None else init[0]
inp = deepmd_input(
    json.load(open(snakemake.input.template)),
    type_map=p.type_map,
    sel=json.load(open(snakemake.input.sel))["sel"],
    seed=derive(settings.seed, member=member),
    steps=settings.init_steps if init else settings.steps,
    train_systems=[str(Path(s).resolve()) for s in system_dirs(f"{snakemake.input.data}/train")],
    valid_systems=[str(Path(s).resolve()) for s in system_dirs(f"{snakemake.input.data}/test")],
    precision=settings.precision,
)
log.info("member %d, %d steps, from %s", member, inp["training"]["numb_steps"], init or "scratch")
with open(snakemake.log[0], "a") as dp_log:
    train_member(inp, Path(snakemake.output.graph).parent, snakemake.threads, dp_log, init)
