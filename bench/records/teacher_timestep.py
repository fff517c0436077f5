"""Is a 2 fs time step accurate for the teacher's own MD? NVE runs of the same start (a teacher
MD frame given on the command line, Maxwell-Boltzmann velocities at TEMPERATURE K, fixed seed)
for PS picoseconds at each time step, with the demo's teacher (CHGNet 0.3.0 + D3(0), PBE
parameters): drift of the conserved energy (linear fit, meV/atom/ps) and its fluctuation
against the potential energy's (a standard accuracy measure of the integrator; < 0.05 is the
usual bar). Writes bench/records/teacher_timestep.json. From the repository root:

    PYTHONPATH=src .venv/bin/python bench/records/teacher_timestep.py FRAME.extxyz [T_K [PS]]
"""

import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/

from _common import write_script_record  # noqa: E402
from ase import units  # noqa: E402
from ase.io import read  # noqa: E402
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary  # noqa: E402
from ase.md.verlet import VelocityVerlet  # noqa: E402

from lpsflow.dft.mlip import load_calculator  # noqa: E402

warnings.simplefilter("ignore")
frame = sys.argv[1]
temperature = float(sys.argv[2]) if len(sys.argv) > 2 else 1000.0
ps = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
dispersion = {"damping": "d3zero", "method": "PBE"}
start = read(frame)
MaxwellBoltzmannDistribution(start, temperature_K=temperature, rng=np.random.default_rng(7))
Stationary(start)
load0 = os.getloadavg()
figures, series = {}, {}


def nve(dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """NVE of the start at ``dt`` fs for ``ps``: time (ps), total and potential energy (eV),
    temperature (K) every step, and the CPU seconds of the dynamics."""
    atoms = start.copy()
    atoms.set_velocities(start.get_velocities())
    atoms.calc = load_calculator("chgnet-0.3.0", threads=1, dispersion=dispersion)
    rows = []

    def record():
        e_pot = atoms.get_potential_energy()
        rows.append((len(rows) * dt / 1000, e_pot + atoms.get_kinetic_energy(), e_pot))
        rows[-1] += (atoms.get_temperature(),)

    md = VelocityVerlet(atoms, timestep=dt * units.fs)
    md.attach(record, interval=1)
    clock = time.process_time()
    md.run(int(round(ps * 1000 / dt)))
    return (*np.array(rows).T, time.process_time() - clock)


steps_of = (0.5, 1.0, 2.0)
with ProcessPoolExecutor(max_workers=2) as pool:  # two cores: the 0.5 fs run beside the others
    runs = dict(zip(steps_of, pool.map(nve, steps_of), strict=True))
for dt in steps_of:
    t_ps, e_tot, e_pot, temps, cpu = runs[dt]
    steps = len(t_ps) - 1
    n = len(start)
    slope = np.polyfit(t_ps, e_tot, 1)[0]  # eV/ps
    tag = f"{dt:g} fs"
    figures[f"drift at {tag}"] = {"value": 1000 * slope / n, "unit": "meV/atom/ps"}
    figures[f"conserved-energy sd / potential-energy sd at {tag}"] = {
        "value": float(np.std(e_tot - slope * t_ps) / np.std(e_pot)),
        "unit": "",
        "target": "< 0.05",
    }
    figures[f"mean temperature at {tag}"] = {"value": float(np.mean(temps)), "unit": "K"}
    figures[f"CPU per step at {tag}"] = {"value": cpu / steps, "unit": "CPU s"}
    series[tag] = {"t_ps": t_ps[::10].tolist(), "e_tot_eV": e_tot[::10].tolist()}
    print(tag, {k: v["value"] for k, v in figures.items() if tag in k}, flush=True)
write_script_record(
    "teacher_timestep",
    load0,
    {
        "frame": frame,
        "atoms": len(start),
        "temperature_K": temperature,
        "ps_per_run": ps,
        "teacher": "chgnet-0.3.0 + D3(0) PBE",
        "velocity_seed": 7,
    },
    figures,
    series_every_10th_step=series,
    notes=[
        "NVE velocity Verlet (ASE) from one start per time step; the 0.5 fs run is the "
        "reference. CPU per step is one torch thread, other jobs may share the cores."
    ],
)
