"""The glass stage with a real DeePMD ensemble: NPT melt-quench at one or more rates, the
model's Tg from the density along each quench, the glass density at quench_to, and the NPT
density of the shipped crystal of the same composition (lpsflow.production,
.glass_transition, .glass_density).

    python bench/glass_stage.py --models DIR [--rates 100 1000] [--replicas 2] [--smoke]

``DIR`` holds the ensemble's frozen ``graph*.pb`` files (e.g. a campaign's
``results/iter_NNN/train/model_*/``, found recursively). Settings are config/demo.yaml's
production section (32 atoms). Writes ``bench/records/glass_stage.json``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import yaml
from _common import REPO, git_state, parser, software_versions
from ase.io import read

from lpsflow.amorphous import pack
from lpsflow.crystals import path as crystal_path
from lpsflow.glass_density import crystal_phases, glass_summary, measured_densities
from lpsflow.glass_transition import tg_from_runs
from lpsflow.production import (
    melt_quench_input,
    npt_summary,
    production_cell,
    run_npt_or_fallback,
)
from lpsflow.settings import GlassSettings
from lpsflow.stoichiometry import solve

TYPES = ["Li", "P", "S"]


def demo_settings() -> GlassSettings:
    """config/demo.yaml's production section with the schema's defaults."""
    prod = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())["production"]
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    props = schema["properties"]["production"]["properties"]
    values = {k: v.get("default") for k, v in props.items()} | prod
    return GlassSettings.pick(values)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--models", type=Path, required=True)
    p.add_argument("--rates", type=float, nargs="+", default=[100.0])
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--n-atoms", type=int, default=None, help="production cell (default: demo's)")
    args = p.parse_args()
    log = logging.getLogger("glass_stage")
    logging.basicConfig(level=logging.INFO)
    models = sorted(str(m.resolve()) for m in args.models.rglob("graph*.pb"))
    base = demo_settings()
    if args.n_atoms:
        base = replace(base, n_atoms=args.n_atoms)
    if args.smoke:
        base = replace(base, melt_steps=100, anneal_steps=100, npt_steps=200)
    out = Path("/tmp/lpsflow-bench") / (args.name or "glass_stage")
    comp = {"name": "LPS75", "x": 0.75, "n_atoms": 32, "density": 1.9}
    record = {
        "command": "python bench/glass_stage.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **git_state(),
        "software": software_versions(),
        "load_average_start": os.getloadavg(),
        "models": models,
        "settings": base.params(),
        "glasses": [],
        "tg": [],
    }
    for rate in args.rates:
        settings = replace(base, quench_rate=rate)
        paths, states = [], []
        for r in range(args.replicas):
            run = replace(settings, seed=settings.seed + 1000 * r)
            cell = production_cell(pack(solve(0.75, 32), 1.9, seed=r), run.n_atoms)
            work = out / f"rate_{rate:g}" / f"replica_{r}"
            start = time.time()
            failed, code = run_npt_or_fallback(
                cell,
                lambda npt, run=run: melt_quench_input(models, TYPES, run, False, npt),
                TYPES,
                work,
                log,
                threads=1,
            )
            before = run.melt_steps + run.quench_steps + run.anneal_steps
            state = {
                "composition": "LPS75",
                "replica": r,
                "kind": "glass",
                "quench_rate_K_ps": rate,
                "steps": before + run.npt_steps,
                "wall_s": time.time() - start,
                "exit_code": code,
                **npt_summary(work, before + run.npt_steps - run.npt_steps // 2),
                "npt_failed": failed,
            }
            log.info("%s", state)
            record["glasses"].append(state)
            paths.append(str(work / "quench.dat"))
            states.append(state)
        tg = tg_from_runs("LPS75", paths, states)
        tg.pop("pooled", None)
        record["tg"].append(tg)
        record[f"density_rate_{rate:g}"] = glass_summary(states)
    crystals = []
    for phase in crystal_phases(comp):
        cell = production_cell(read(crystal_path(phase)), base.n_atoms)
        work = out / "crystals" / phase
        start = time.time()
        failed, code = run_npt_or_fallback(
            cell,
            lambda npt: melt_quench_input(models, TYPES, base, True, npt),
            TYPES,
            work,
            log,
            threads=1,
        )
        measured = measured_densities()
        ref = measured[measured["material"] == phase]["density_g_cm3"].iloc[0]
        state = {
            "phase": phase,
            "n_atoms": len(cell),
            "wall_s": time.time() - start,
            **npt_summary(work, base.anneal_steps + base.npt_steps - base.npt_steps // 2),
            "npt_failed": failed,
            "measured_g_cm3": float(ref),
        }
        log.info("%s", state)
        crystals.append(state)
    record["crystals"] = crystals
    record["load_average_end"] = os.getloadavg()
    target = args.out / f"{args.name or 'glass_stage'}.json"
    target.write_text(json.dumps(record, indent=1, default=str))
    print(json.dumps({k: record[k] for k in record if k.startswith("density")}, indent=1))
    print(json.dumps([{k: t[k] for k in ("tg_K", "tg_err_K", "reason")} for t in record["tg"]]))
    print(json.dumps(crystals, indent=1, default=str))


if __name__ == "__main__":
    main()
