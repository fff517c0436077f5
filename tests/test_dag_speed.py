"""The DAG of a large finished campaign (10 compositions x 8 temperatures x 30 iterations)
is complete: a dry run walks all 30 selection checkpoints and finds nothing to do.

Every output of a finished 30-iteration campaign is laid out as placeholder files (in
dependency order, increasing modification times), the worst case of a long campaign. How long
that dry run takes is a benchmark, not a timed test (the machine is shared):
``bench/workflow_overhead.py`` measures it (target < 10 s, docs/benchmarks.md); this test
prints the time it took.
"""

import json
import os
import time

import pytest
from conftest import run_workflow, shipped

N_COMP, N_TEMP, N_ITER, N_MODELS = 10, 8, 30, 4
TEMPS = [400, 500, 600, 700, 800]  # production temperatures of the shipped config
N_REPLICAS = 3  # production.replicas of the shipped config


def _campaign_files(root, n_comp=N_COMP, n_temp=N_TEMP, n_iter=N_ITER):
    comps = [f"C{c}" for c in range(n_comp)]
    files = []  # (path, content) in dependency order
    for c in comps:
        files += [
            (f"results/sample/{c}/replica_0.extxyz", ""),
            (f"results/init/{c}/frames.extxyz", ""),
        ]
        files += [(f"results/init/{c}/labels/frame_{f}.csv", "") for f in range(5)]
        files += [(f"results/init/{c}/data/", None)]
        files += [(f"results/init/{c}/labels.csv", "")]
    files += [("results/init/summary.csv", ""), ("results/init/failures.csv", "")]
    files += [("results/init/theory.csv", "")]
    for i in range(n_iter):
        it = f"results/iter_{i:03d}"
        files += [(f"{it}/data/", None), (f"{it}/dataset.csv", "")]
        if i == 0:
            files += [(f"{it}/train/sel.json", "")]
        files += [(f"{it}/train/model_{m}/graph.pb", "") for m in range(N_MODELS)]
        files += [(f"{it}/train/rmse.csv", "")]
        for c in comps:
            for j in range(n_temp):
                files += [
                    (f"{it}/explore/{c}/job_{j}/{n}", "")
                    for n in ("model_devi.out", "final.extxyz", "status.json")
                ]
        last = i == n_iter - 1
        verdict = {
            "status": "converged" if last else "continue",
            "converged": last,
            "stop": last,
            "n_selected": 0,
        }
        files += [
            (f"{it}/select/{n}", "") for n in ("candidates.extxyz", "frames.csv", "ratios.csv")
        ]
        files += [
            (f"{it}/select/verdict.json", json.dumps(verdict)),
            (f"{it}/summary.csv", ""),
            (f"{it}/label/labels.csv", ""),
        ]
    files += [("results/loop/iterations.csv", ""), ("results/loop/tables.json", "")]
    files += [("results/model/manifest.json", "")]
    files += [("results/model/parity.csv", "")]
    for c in comps:
        for r in range(N_REPLICAS):
            prod = f"results/production/{c}/replica_{r}"
            files += [(f"{prod}/glass.extxyz", ""), (f"{prod}/melt_quench/model_devi.out", "")]
            for t in TEMPS:
                run = f"{prod}/T{t}"
                files += [
                    (f"{run}/{n}", "")
                    for n in (
                        "li.dcd",
                        "all.dcd",
                        "model_devi.out",
                        "run_status.json",
                        "md/log.lammps",
                    )
                ]
                files += [
                    (f"{run}/{n}", "") for n in ("transport.json", "msd.csv", "charge_msd.csv")
                ]
                files += [  # lpsflow.li_environment (rule analyze_environment)
                    (f"{run}/{n}", "")
                    for n in (
                        "environment.json",
                        "environment_units.csv",
                        "environment_mobility.csv",
                    )
                ]
        files += [(f"results/production/{c}/structure.json", "")]
    files += [("results/transport/runs.csv", ""), ("results/transport/conductivity.csv", "")]
    files += [("results/transport/arrhenius.csv", "")]
    files += [("results/environment/mobility.csv", ""), ("results/environment/units.csv", "")]
    files += [("results/report.html", "")]
    # 10 ms apart, all in the last minute: newer than the repository's DeePMD templates
    t0 = time.time() - 0.01 * len(files) - 10
    for k, (path, content) in enumerate(files):
        p = root / path
        if content is None:
            p.mkdir(parents=True, exist_ok=True)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content)
        os.utime(p, (t0 + 0.01 * k, t0 + 0.01 * k))


def _campaign_config(n_comp=N_COMP, n_temp=N_TEMP, n_iter=N_ITER):
    """The shipped config with n_comp compositions, n_temp explored temperatures, n_iter
    iterations at most (also used by bench/workflow_overhead.py)."""
    config = shipped("config.yaml")
    config["compositions"] = [
        {"name": f"C{c}", "x": 0.70 + 0.01 * c, "n_atoms": 100, "replicas": 1}
        for c in range(n_comp)
    ]
    config["explore"]["schedule"] = [
        {"ensemble": "nvt", "temperature": 300 + 100 * t} for t in range(n_temp)
    ]
    config["loop"]["max_iterations"] = n_iter
    config["init"]["n_perturb"] = 5
    return config


@pytest.mark.slow
def test_dry_run_of_large_finished_campaign_has_nothing_to_do(tmp_path):
    config = _campaign_config()
    _campaign_files(tmp_path)
    start = time.perf_counter()
    proc = run_workflow(tmp_path, config, "-n", "--rerun-triggers", "mtime")
    elapsed = time.perf_counter() - start
    print(f"dry run of a finished {N_COMP}x{N_TEMP}x{N_ITER} campaign: {elapsed:.1f} s")
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-2000:]
