"""What validation run 3 (docs/validation.md) had measured when it was stopped: the loop's
iterations, the DP's crystal and glass densities at 300 K, the DP's transport runs and the
teacher runs finished, read from the run folder given on the command line; writes
bench/records/validation_run3.json. From the repository root:

    PYTHONPATH=src .venv/bin/python bench/records/validation_run3.py RUN_FOLDER
"""

import csv
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/

from _common import write_script_record  # noqa: E402

run = Path(sys.argv[1])
res = run / "results"
load0 = os.getloadavg()


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def where(path: Path) -> str:
    return str(path.relative_to(res))


figures = {}
for path in sorted(res.glob("iter_*/summary.csv")):
    for row in csv.DictReader(path.open()):
        key = f"accurate ratio, iteration {row['iteration']}, {row['composition']}"
        figures[key] = {"value": float(row["accurate_ratio"]), "unit": "", "target": row["status"]}
for path in sorted(res.glob("production/**/density.json")):
    d = read(path)
    figures[f"DP density at 300 K, {where(path.parent)}"] = {  # a glass's own, else the NPT mean
        "value": d.get("density_g_cm3", d["npt_density_g_cm3"]),
        "unit": "g/cm3",
        "target": f"sd {d['npt_density_std_g_cm3']:.3f}",
    }
for path in sorted(res.glob("production/*/replica_*/T*/transport.json")):
    d = read(path)
    figures[f"DP D, {where(path.parent)}"] = {
        "value": d["D_cm2_s"],
        "unit": "cm2/s",
        "target": f"err {d['D_err_cm2_s']:.2g}, volume {d['volume_A3']:.1f} A^3, "
        f"diffusive {d.get('diffusive')}",
    }
for path in sorted(res.glob("teacher/*/T*/transport.json")):
    d, speed = read(path), read(path.parent / "speed.json")
    figures[f"teacher D, {where(path.parent)}"] = {
        "value": d["D_cm2_s"],
        "unit": "cm2/s",
        "target": f"err {d['D_err_cm2_s']:.2g}, sigma {d['sigma_S_cm']:.3g} +- "
        f"{d['sigma_err_S_cm']:.2g} S/cm, NPT volume {speed['npt_volume_A3']:.1f} A^3, "
        f"{speed['atom_steps_per_s']:.0f} atom-steps/s",
    }
write_script_record(
    "validation_run3",
    load0,
    {"run_folder": str(run), "config": "config/validation.yaml (the D3 teacher, 2 fs check)"},
    figures,
    notes=[
        "Read from a run stopped before the teacher's MD finished (2026-12-08 00:26 UTC); "
        "started at commit 704d356 with config/validation.yaml as committed in 7f8fccd."
    ],
)
