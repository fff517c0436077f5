"""float32 vs float64 DeePMD networks: test RMSE and MD speed of the compressed model.

Both precisions train on the same teacher-labelled frames (``bench/data/teacher_*.extxyz``:
CHGNet MD of a 16-atom LPS75 cell at 600, 800 and 1000 K), with the same seeds, steps and
template (``config/deepmd.json`` by default, the production architecture); the only
difference is ``train.precision`` (``lpsflow.training.deepmd_input``). The first
``--train-frames`` frames of every temperature are trained on, the rest of each file is the
fixed test set (later in the same runs, never trained on). Every precision is trained with
``--seeds`` seeds, so the float32 - float64 difference is read against the seed-to-seed
spread of one precision. RMSE: energy per atom (eV/atom), force components (eV/A), virial
per atom (eV/atom), by ``lpsflow.evaluation.errors``.

Speed: each model is compressed (``dp --tf compress``) and run in LAMMPS (NVT, 1 thread) on
the 16-atom cell repeated to about ``--atoms`` atoms, float32 and float64 alternating
(A B A B); atom-steps per second from the "Loop time" of the last run of each LAMMPS input
(model loading and the first step excluded).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from _common import REPO, Record, alternate, median, parser
from dp_vs_aimd import run_lammps

sys.path.insert(0, str(REPO / "src"))

from lpsflow.evaluation import errors  # noqa: E402
from lpsflow.production import production_cell  # noqa: E402
from lpsflow.teacher import read_test_set  # noqa: E402
from lpsflow.training import (  # noqa: E402
    PRECISIONS,
    compress,
    deepmd_input,
    neighbor_sel,
    system_dirs,
    train_member,
)

TYPE_MAP = ["Li", "P", "S"]
DATA = REPO / "bench" / "data"


def split_teacher_data(files: list[Path], n_train: int, workdir: Path) -> tuple[list[str], list]:
    """deepmd/npy training systems (first ``n_train`` frames of each file) under
    ``workdir/train`` and the remaining frames of each file as test LabeledSystems."""
    import dpdata

    train = dpdata.MultiSystems(type_map=TYPE_MAP)
    tests = []
    for path in files:
        system = read_test_set(path)
        if len(system) <= n_train:
            raise ValueError(f"{path}: {len(system)} frames, not more than --train-frames")
        train.append(system.sub_system(list(range(n_train))))
        tests.append(system.sub_system(list(range(n_train, len(system)))))
    shutil.rmtree(workdir / "train", ignore_errors=True)
    train.to("deepmd/npy", str(workdir / "train"))
    return system_dirs(workdir / "train"), tests


def train_one(
    template: dict, precision: str, seed: int, steps: int, systems: list[str], workdir: Path
) -> dict:
    """Train, freeze and compress one model; its graph, compressed graph and train time (s)."""
    import time

    rcut = template["model"]["descriptor"]["rcut"]
    sel = neighbor_sel(systems, rcut, TYPE_MAP, 1.5)
    inp = deepmd_input(
        template,
        type_map=TYPE_MAP,
        sel=sel,
        seed=seed,
        steps=steps,
        train_systems=systems,
        valid_systems=[],
        precision=precision,
    )
    inp["training"]["disp_freq"] = max(1, steps // 10)
    inp["training"]["save_freq"] = steps
    model_dir = workdir / "model"
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(workdir / "train.log", "w") as log:
        graph = train_member(inp, model_dir, 1, log)
        train_s = time.perf_counter() - start
        compress(graph, workdir / "compressed.pb", 1, log)
    return {"graph": graph, "compressed": workdir / "compressed.pb", "train_s": train_s}


def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--template", type=Path, default=REPO / "config" / "deepmd.json")
    p.add_argument("--steps", type=int, default=3000, help="training steps of every model")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 11], help="training seeds")
    p.add_argument("--train-frames", type=int, default=14, help="trained frames per file")
    p.add_argument("--atoms", type=int, default=1000, help="atoms of the LAMMPS speed cell")
    p.add_argument("--md-steps", type=int, default=200, help="LAMMPS steps per speed run")
    p.add_argument("--repeats", type=int, default=2, help="rounds of the A B alternation")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/lpsflow-bench/precision"))
    args = p.parse_args(argv)
    if args.smoke:
        args.template = REPO / "config" / "deepmd-demo.json"
        args.steps, args.seeds, args.atoms, args.md_steps, args.repeats = 20, [1], 64, 10, 1
        args.workdir = args.workdir.with_name(args.workdir.name + "_smoke")
    files = sorted(DATA.glob("teacher_LPS75_16atoms_T*.extxyz"))
    rec = Record(
        "precision",
        {
            **{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "data": [f.name for f in files],
        },
        smoke=args.smoke,
    )
    rec.data["inputs"].pop("out", None)
    args.workdir.mkdir(parents=True, exist_ok=True)
    systems, tests = split_teacher_data(files, args.train_frames, args.workdir)
    rec.data["inputs"]["test_frames"] = sum(len(t) for t in tests)
    template = json.loads(args.template.read_text())
    models: dict[str, list[dict]] = {prec: [] for prec in PRECISIONS}
    details: dict = {"rmse": {}, "train_s": {}}
    for seed in args.seeds:  # both precisions of one seed, one after the other
        for prec in PRECISIONS:
            w = args.workdir / f"{prec}_seed{seed}"
            model = train_one(template, prec, seed, args.steps, systems, w)
            model["errors"] = errors(str(model["graph"]), tests)
            model["errors_compressed"] = errors(str(model["compressed"]), tests)
            models[prec].append(model)
            details["rmse"][f"{prec} seed {seed}"] = model["errors"]
            details["rmse"][f"{prec} seed {seed} compressed"] = model["errors_compressed"]
            details["train_s"][f"{prec} seed {seed}"] = model["train_s"]
    rec.data["details"] = details
    for prec in PRECISIONS:
        for key, unit in (("rmse_e", "eV/atom"), ("rmse_f", "eV/A"), ("rmse_v", "eV/atom")):
            values = [m["errors"][key] for m in models[prec]]
            rec.figure(
                f"{key} {prec} (mean of {len(values)} seeds)", sum(values) / len(values), unit
            )
            rec.figure(f"{key} {prec} seed spread (max-min)", max(values) - min(values), unit)
        rec.figure(
            f"rmse_f {prec} compressed (mean)",
            sum(m["errors_compressed"]["rmse_f"] for m in models[prec]) / len(models[prec]),
            "eV/A",
        )
        rec.figure(
            f"train wall s {prec} (median, with start-up)",
            median([m["train_s"] for m in models[prec]]),
            "s",
        )
    for key in ("rmse_e", "rmse_f", "rmse_v"):
        f32 = [m["errors"][key] for m in models["float32"]]
        f64 = [m["errors"][key] for m in models["float64"]]
        rec.figure(f"{key} float32/float64", (sum(f32) / len(f32)) / (sum(f64) / len(f64)), "x")

    # ---- speed of the compressed models in LAMMPS (seed of the first model) ----
    base = read_test_set(files[0]).to("ase/structure")[0]
    cell = production_cell(base, args.atoms) if args.atoms > len(base) else base
    runs: dict[str, list[dict]] = {prec: [] for prec in PRECISIONS}

    def lammps(prec: str) -> float:
        model = models[prec][0]["compressed"]
        runs[prec].append(
            run_lammps(cell, model, args.md_steps, 1, args.workdir / f"md_{prec}_{len(runs[prec])}")
        )
        return runs[prec][-1]["s_per_step"]

    values = alternate(
        {prec: (lambda prec=prec: lammps(prec)) for prec in PRECISIONS}, args.repeats
    )
    details["lammps"] = {"atoms": len(cell), "steps": args.md_steps, "runs": runs}
    speed = {prec: len(cell) / median(v) for prec, v in values.items()}
    for prec in PRECISIONS:
        rec.figure(
            f"atom-steps/s/core compressed {prec} ({len(cell)} atoms)",
            speed[prec],
            "1/s",
            ">= 1e4",
        )
    rec.figure("speed float32/float64 (compressed)", speed["float32"] / speed["float64"], "x")
    rec.write(args.out)


if __name__ == "__main__":
    main()
