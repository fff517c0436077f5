"""Adapter: one starting cell of a composition (lpsflow.structures)."""

from ase.io import write

from lpsflow.amorphous import MinDistances
from lpsflow.joblog import to_file
from lpsflow.settings import SamplingSettings
from lpsflow.structures import starting_cell

log = to_file(snakemake.log[0])
sampling = SamplingSettings.from_params(snakemake.params.sampling)
min_dist = MinDistances(li=sampling.min_distance_li, anion=sampling.min_distance_anion)
atoms = starting_cell(snakemake.params.composition, int(snakemake.wildcards.replica), min_dist)
log.info("%s: %d atoms, cell %s", atoms.get_chemical_formula(), len(atoms), atoms.cell.lengths())
write(snakemake.output.cell, atoms, format="extxyz")
