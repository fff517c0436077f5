"""CPU cost of one teacher call (energy, forces, stress) with and without D3, on a frame given
on the command line, as it is and uniformly expanded to a lower density (DENSITY g/cm3: how
the cost follows the density); writes bench/records/d3_call_cost.json. From the repository root:

    PYTHONPATH=src .venv/bin/python bench/records/d3_call_cost.py FRAME.extxyz [CALLS [DENSITY]]
"""

import datetime
import itertools
import json
import os
import subprocess
import sys
import time
import warnings

from ase.io import read

from lpsflow.crystals import cell_density
from lpsflow.dft.mlip import load_calculator

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
record = {
    "name": "d3_call_cost",
    "command": "PYTHONPATH=src .venv/bin/python bench/records/d3_call_cost.py "
    + " ".join(sys.argv[1:]),
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "git": {
        "commit": subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
    },
    "inputs": {
        "frame": frame,
        "atoms": len(atoms),
        "density_g_cm3": cell_density(atoms),
        "calls": calls,
        "threads": 1,
    },
    "cores": os.cpu_count(),
    "loadavg_start": load0,
    "loadavg_end": os.getloadavg(),
    "figures": figures,
    "notes": [
        "one torch thread, OMP_NUM_THREADS as the caller set it; other jobs may share the "
        "cores: compare the two values, not times across records"
    ],
}
with open("bench/records/d3_call_cost.json", "w") as f:
    json.dump(record, f, indent=2)
    f.write("\n")
