"""What validation run 3 (docs/validation.md) measured: the loop's iterations, the DP's
crystal and glass densities at 300 K, the DP's and the teacher's transport runs, and, once
the run has finished, the DP/teacher comparison per point, both Arrhenius fits, the pooled
bias and the fixed test set's errors per iteration; read from the run folder given on the
command line; writes bench/records/validation_run3.json. From the repository root:

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


def put(key: str, value, unit: str = "", target: str = "") -> None:
    figures[key] = {"value": value, "unit": unit, "target": target}


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open())) if path.exists() else []


def num(text: str) -> float:
    return float(text) if text not in ("", None) else float("nan")


for path in sorted(res.glob("iter_*/summary.csv")):
    for row in rows(path):
        key = f"accurate ratio, iteration {row['iteration']}, {row['composition']}"
        put(key, float(row["accurate_ratio"]), "", row["status"])
for path in sorted(res.glob("production/**/density.json")):
    d = read(path)
    put(
        f"DP density at 300 K, {where(path.parent)}",
        d.get("density_g_cm3", d["npt_density_g_cm3"]),  # a glass's own, else the NPT mean
        "g/cm3",
        f"sd {d['npt_density_std_g_cm3']:.3f}",
    )
for path in sorted(res.glob("production/*/replica_*/T*/transport.json")):
    d = read(path)
    put(
        f"DP D, {where(path.parent)}",
        d["D_cm2_s"],
        "cm2/s",
        f"err {d['D_err_cm2_s']:.2g}, volume {d['volume_A3']:.1f} A^3, "
        f"diffusive {d.get('diffusive')}",
    )
for path in sorted(res.glob("teacher/*/T*/transport.json")):
    d, speed = read(path), read(path.parent / "speed.json")
    put(
        f"teacher D, {where(path.parent)}",
        d["D_cm2_s"],
        "cm2/s",
        f"err {d['D_err_cm2_s']:.2g}, sigma {d['sigma_S_cm']:.3g} +- "
        f"{d['sigma_err_S_cm']:.2g} S/cm, NPT volume {speed['npt_volume_A3']:.1f} A^3, "
        f"{speed['atom_steps_per_s']:.0f} atom-steps/s",
    )
for row in rows(res / "teacher" / "comparison.csv"):
    point = f"{row['composition']} {float(row['temperature_K']):.0f} K"
    for q in ("D", "sigma"):
        lo, hi = num(row[f"{q}_ratio_lo95"]), num(row[f"{q}_ratio_hi95"])
        target = f"95 % [{lo:.2f}, {hi:.2f}], within combined 95 %: {row[f'{q}_agrees']}"
        put(f"DP/teacher {q} ratio, {point}", num(row[f"{q}_ratio"]), "", target)
    put(f"DP box / teacher box, {point}", num(row["volume_ratio"]))
for who, folder in (("DP", "transport"), ("teacher", "teacher")):
    for row in rows(res / folder / "arrhenius.csv"):
        for regime in ("", "melt_"):
            lo, hi = num(row[f"{regime}Ea_lo_eV"]), num(row[f"{regime}Ea_hi_eV"])
            target = f"95 % [{lo:.3f}, {hi:.3f}]; {row[f'{regime}note'] or 'fitted'}"
            glass = "glass" if row["regime"] == "below_tg" else "all points"  # Tg unknown
            kind = "melt" if regime else glass
            key = f"{who} {kind} Ea, {row['composition']}"
            put(key, num(row[f"{regime}Ea_eV"]), "eV", target)
        key = f"{who} model Tg used to split, {row['composition']}"
        put(key, num(row["tg_K"]), "K", row.get("tg_note", ""))
for row in rows(res / "teacher" / "bias.csv"):
    lo, hi = num(row["pooled_ratio_lo95"]), num(row["pooled_ratio_hi95"])
    target = f"95 % [{lo:.2f}, {hi:.2f}] over {row['n_points']} points; {row['verdict']}"
    put(f"pooled DP/teacher {row['quantity']} ratio", num(row["pooled_ratio"]), "", target)
test = rows(res / "teacher" / "test_rmse.csv")
for key in sorted(
    {(r["iteration"], r["composition"]) for r in test}, key=lambda k: (int(k[0]), k[1])
):
    mine = [r for r in test if (r["iteration"], r["composition"]) == key]
    for col, unit, scale in (
        ("rmse_f", "eV/A", 1),
        ("rmse_v", "meV/atom", 1e3),
        ("rmse_e", "meV/atom", 1e3),
    ):
        value = scale * sum(num(r[col]) for r in mine) / len(mine)
        target = f"mean over {len(mine)} model-temperature pairs, 20 teacher frames each"
        put(f"test {col}, iteration {key[0]}, {key[1]}", value, unit, target)
finished = (res / "teacher" / "comparison.csv").exists()
for figure in figures.values():  # no fit (too few points): null, not NaN, in the JSON
    if figure["value"] != figure["value"]:
        figure["value"] = None
write_script_record(
    "validation_run3",
    load0,
    {"run_folder": str(run), "config": "config/validation.yaml (the D3 teacher, 2 fs check)"},
    figures,
    notes=[
        "Started 2026-12-07 23:24 UTC at commit 704d356 with config/validation.yaml as "
        "committed in 7f8fccd; stopped 2026-12-08 00:26 UTC with the teacher's MD under way"
        + (
            "; resumed 2026-12-08 01:28 UTC by the same command with --rerun-incomplete "
            "(two outputs left incomplete by the stop were redone) at commit 3bac357, which "
            "changed no science code"
            if finished
            else ""
        )
        + "."
    ],
)
