"""CPU cost of one teacher call (energy, forces, stress) with and without D3, on a frame given
on the command line, as it is and uniformly expanded to a lower density (DENSITY g/cm3: how
the cost follows the density); writes bench/records/d3_call_cost.json. From the repository root:

    PYTHONPATH=src .venv/bin/python bench/records/d3_call_cost.py FRAME.extxyz [CALLS [DENSITY]]
"""

import itertools
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/

from _common import write_script_record  # noqa: E402
from ase.io import read  # noqa: E402

from lpsflow.crystals import cell_density  # noqa: E402
from lpsflow.dft.mlip import load_calculator  # noqa: E402

warnings.simplefilter("ignore")
frame, calls = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20
low = float(sys.argv[3]) if len(sys.argv) > 3 else 1.36
atoms = read(frame)
expanded = atoms.copy()
expanded.set_cell(atoms.cell * (cell_density(atoms) / low) ** (1 / 3), scale_atoms=True)
load0 = os.getloadavg()
figures = {}
teachers = (("chgnet-0.3.0", {}), ("chgnet-0.3.0+d3zero", {"damping": "d3zero", "method": "PBE"}))
cells = ((f"{cell_density(atoms):.2f} g/cm3", atoms), (f"{low:.2f} g/cm3", expanded))
for (teacher, dispersion), (tag, cell) in itertools.product(teachers, cells):
    name = f"{teacher} at {tag}"
    a = cell.copy()
    a.calc = load_calculator("chgnet-0.3.0", threads=1, dispersion=dispersion)
    a.get_forces()  # first call: model set-up
    start = time.process_time()
    for _ in range(calls):
        a.positions[0, 0] += 1e-3  # a new geometry every call (no cached result)
        a.get_forces()
        a.get_stress()
    figures[name] = {"value": (time.process_time() - start) / calls, "unit": "CPU s per call"}
    print(name, figures[name], flush=True)
write_script_record(
    "d3_call_cost",
    load0,
    {
        "frame": frame,
        "atoms": len(atoms),
        "density_g_cm3": cell_density(atoms),
        "calls": calls,
        "threads": 1,
    },
    figures,
    notes=[
        "one torch thread, OMP_NUM_THREADS as the caller set it; other jobs may share the "
        "cores: compare the two values, not times across records"
    ],
)
