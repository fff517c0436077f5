"""Adapter: perturbed frames of every starting cell of a composition (lpsflow.perturb)."""

from ase.io import read, write

from lpsflow.joblog import to_file
from lpsflow.perturb import perturbed_frames
from lpsflow.seeds import derive
from lpsflow.settings import InitSettings

log = to_file(snakemake.log[0])
init = InitSettings.from_params(snakemake.params.init)
frames = []
for replica, path in enumerate(snakemake.input.cells):
    cell = read(path)
    frames += perturbed_frames(
        cell,
        init.n_perturb,
        init.atom_displacement,
        init.cell_strain,
        seed=derive(init.seed, scale=1000, structure=replica),
    )
for index, frame in enumerate(frames):
    frame.info["index"] = index
log.info("%d frames from %d cells", len(frames), len(snakemake.input.cells))
write(snakemake.output.frames, frames, format="extxyz")
