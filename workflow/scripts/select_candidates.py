"""Adapter: classify explored frames, choose candidates, decide convergence (lpsflow.selection)."""

from ase.io import write

from lpsflow.joblog import to_file
from lpsflow.selection import select_iteration
from lpsflow.settings import SelectSettings

log = to_file(snakemake.log[0])
p = snakemake.params
# params.runs and the devi/traj inputs come from one function (common.smk: explore_runs)
devi, traj = list(snakemake.input.devi), list(snakemake.input.traj)
status = list(snakemake.input.status)
if not len(p.runs) == len(devi) == len(traj) == len(status):
    raise ValueError(
        f"{len(p.runs)} runs but {len(devi)} deviation, {len(traj)} dump and {len(status)} "
        "status files"
    )
runs = [
    {**run, "devi": devi_path, "traj": traj_path, "status": status_path}
    for run, devi_path, traj_path, status_path in zip(p.runs, devi, traj, status, strict=True)
]
settings = SelectSettings.from_params(p.select)
frames, chosen, ratios, verdict = select_iteration(
    runs, snakemake.input.graph, p.type_map, settings, p.accurate_ratio, p.min_distance
)
log.info("verdict %s\n%s", verdict, ratios.to_string(index=False))
if frames["too_close"].any():
    log.warning(
        "%d explored frames have atoms closer than %s A (train.min_distance): failed, "
        "not labelled; the exploration MD collapsed there",
        int(frames["too_close"].sum()),
        p.min_distance,
    )
write(snakemake.output.candidates, chosen, format="extxyz")
frames.to_csv(snakemake.output.frames, index=False)
ratios.to_csv(snakemake.output.ratios, index=False)
verdict.write(snakemake.output.verdict)
