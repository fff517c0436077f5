"""Why a teacher campaign's DP box differs from the teacher's: sampling noise of the NPT
average, or the DP's equation of state? A diagnostic of a finished campaign folder (helper:
not run by ``python -m bench``; needs a finished teacher-labelled run).

    PYTHONPATH=src python bench/_npt_box_noise.py --run RUN --config RUN/config/demo.yaml \
        --composition LPS75 --temperature 800 --seeds 3 --npt-ps 40

1. **Sampling noise**: the production's own NPT stage (``lpsflow.production.transport_input``,
   the campaign's final models, replica 0's glass, the production's barostat), run for
   ``--npt-ps`` instead of ``production.npt_steps``, with the production's velocity seed and
   ``--seeds - 1`` more. With the production's seed the first ``npt_steps`` repeat the
   production run exactly, so its box estimate (the mean of the second half of
   ``npt_steps``) is reproduced; the long run gives the mean box over its last 7/8 with a
   5-block standard error, and the spread of box estimates from single windows of the
   production's averaging length.
2. **Equation of state**: every iteration's models on the teacher's own test frames of that
   composition and temperature (:func:`lpsflow.teacher.errors_on_test_set`): DP - teacher
   pressure on the same frames (GPa), mean and standard error, and the teacher's box.

Writes ``bench/records/<name>.json`` (default ``npt_box_noise``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from _common import Record, parser

from lpsflow.production import ensemble_models, run_guarded, transport_input
from lpsflow.seeds import derive
from lpsflow.settings import Settings
from lpsflow.teacher import errors_on_test_set


def windows(volumes: np.ndarray, length: int) -> list[float]:
    """Means of consecutive non-overlapping windows of ``length`` records."""
    n = len(volumes) // length
    return [float(volumes[k * length : (k + 1) * length].mean()) for k in range(n)]


def block_error(values: np.ndarray, n_blocks: int = 5) -> float:
    """Standard error of the mean from ``n_blocks`` consecutive block means."""
    means = [b.mean() for b in np.array_split(np.asarray(values, float), n_blocks)]
    return float(np.std(means, ddof=1) / np.sqrt(n_blocks))


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True, help="finished teacher campaign folder")
    p.add_argument("--composition", required=True)
    p.add_argument("--temperature", type=float, required=True)
    p.add_argument(
        "--config", type=Path, help="the campaign's config (default RUN/config/config.yaml)"
    )
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--npt-ps", type=float, default=40.0)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/npt_box_noise"), help="MD folders")
    p.add_argument("--reuse", action="store_true", help="keep finished MD of the same input")
    args = p.parse_args()
    from snakemake.utils import validate

    run = args.run.resolve()
    res = run / "results"
    config = yaml.safe_load((args.config or run / "config" / "config.yaml").read_text())
    validate(
        config, str(Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml")
    )
    S = Settings.from_config(config)
    prod = S.production.run
    steps = int(round(args.npt_ps * 1000 / prod.timestep_fs))
    record = Record(
        "npt_box_noise",
        {
            "name": args.name,
            "run": str(run),
            "config": str(args.config or run / "config" / "config.yaml"),
            "composition": args.composition,
            "temperature_K": args.temperature,
            "seeds": args.seeds,
            "npt_ps": args.npt_ps,
            "production_npt_steps": prod.npt_steps,
        },
    )
    comp, temp = args.composition, args.temperature
    glass_dir = res / "production" / comp / "replica_0"
    from ase.io import read

    glass = read(glass_dir / "glass.extxyz")
    models = ensemble_models(res / "model" / "manifest.json")
    every = prod.devi_every
    seed0 = derive(prod.seed, replica=0)  # what run_production uses for replica 0
    half = prod.npt_steps // 2 // every  # records of the production's averaging half
    runs = []
    for k in range(args.seeds):
        settings = replace(prod, seed=seed0 + k, npt_steps=steps, equilibration_steps=0, steps=1)
        workdir = args.workdir / f"{comp}_T{temp:g}_seed{k}"
        workdir.mkdir(parents=True, exist_ok=True)
        text = transport_input(models, S.type_map, settings, temp)
        inp, log = workdir / "in.lammps", workdir / "log.lammps"
        finished = log.exists() and "Total wall time" in log.read_text(errors="replace")
        if args.reuse and finished and inp.read_text() == text:
            code = 0  # the same input ran to its end before (npt.dat below is read as is)
        else:
            code = run_guarded(glass, text, S.type_map, workdir, threads=1)
        data = np.loadtxt(workdir / "npt.dat", comments="#", ndmin=2)
        v = data[1:, 2]  # records after step 0
        protocol = float(v[half : 2 * half].mean())  # what the production's NPT averages
        tail = v[len(v) // 8 :]
        kt = 1.380649e-23 * temp  # J; volumes in A^3 -> m^3: bulk modulus from fluctuations
        bulk = kt * tail.mean() * 1e-30 / (tail.var(ddof=1) * 1e-60) / 1e9
        runs.append(
            {
                "seed_offset": k,
                "lammps_rc": code,
                "protocol_box_A3": protocol,
                "long_mean_A3": float(tail.mean()),
                "long_mean_err_A3": block_error(tail),
                "long_mean_pressure_bar": float(data[1:, 4][len(v) // 8 :].mean()),
                "window_boxes_A3": windows(tail, half),
                "bulk_modulus_GPa": float(bulk),  # kT <V> / var(V), records every devi_every
            }
        )
        print(json.dumps(runs[-1])[:300], flush=True)
    production = json.loads((glass_dir / f"T{temp:g}" / "npt.json").read_text())
    comparison = pd.read_csv(res / "teacher" / "comparison.csv")
    point = comparison[(comparison.composition == comp) & (comparison.temperature_K == temp)]
    teacher_box = float(point["volume_A3_teacher"].iloc[0])
    dp_box = float(point["volume_A3_dp"].iloc[0])
    graphs = sorted(res.glob("iter_*/train/model_*/graph.pb"))
    n_models = len(list(res.glob("iter_000/train/model_*/graph.pb")))
    test = res / "teacher" / comp / f"T{temp:g}" / "frames.extxyz"
    bias = errors_on_test_set(
        [str(g) for g in graphs],
        n_models,
        [str(test)],
        [{"composition": comp, "temperature_K": temp}],
    )
    per_iteration = bias.groupby("iteration")[["rmse_f", "bias_p_GPa", "bias_p_err_GPa"]].mean()
    all_windows = [w for r in runs for w in r["window_boxes_A3"]]
    long_means = [r["long_mean_A3"] for r in runs]
    record.data["runs"] = runs
    record.data["pressure_bias_per_iteration"] = per_iteration.reset_index().to_dict("records")
    record.figure("production_dp_box_A3", float(production["nvt_volume_A3"]), "A^3")
    record.figure("reproduced_protocol_box_A3", runs[0]["protocol_box_A3"], "A^3")
    record.figure("teacher_box_A3", teacher_box, "A^3")
    record.figure("production_box_ratio", dp_box / teacher_box)
    record.figure("long_mean_box_A3", float(np.mean(long_means)), "A^3")
    record.figure("long_mean_box_ratio", float(np.mean(long_means)) / teacher_box)
    record.figure("long_mean_box_ratio_min", float(min(long_means)) / teacher_box)
    record.figure("long_mean_box_ratio_max", float(max(long_means)) / teacher_box)
    record.figure(
        "single_window_spread_rel",
        float(np.std(all_windows, ddof=1) / np.mean(all_windows)),
        "",
        "sd / mean of box estimates from one window of the production's averaging length",
    )
    record.figure("single_window_min_A3", float(min(all_windows)), "A^3")
    record.figure("single_window_max_A3", float(max(all_windows)), "A^3")
    bulk = float(np.mean([r["bulk_modulus_GPa"] for r in runs]))
    record.figure(
        "bulk_modulus_GPa", bulk, "GPa", "kT <V> / var(V) of the long NPT runs (their mean)"
    )
    last = per_iteration.iloc[-1]
    record.figure(
        "volume_change_from_bias_rel",
        float(last["bias_p_GPa"]) / bulk,
        "",
        "bias / bulk modulus: the box change the final pressure bias implies",
    )
    record.figure("final_pressure_bias_GPa", float(last["bias_p_GPa"]), "GPa")
    record.figure("final_pressure_bias_err_GPa", float(last["bias_p_err_GPa"]), "GPa")
    record.figure("first_pressure_bias_GPa", float(per_iteration.iloc[0]["bias_p_GPa"]), "GPa")
    record.write(args.out)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
