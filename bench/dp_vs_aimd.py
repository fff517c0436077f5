"""DP MD vs AIMD: wall time per MD step of CP2K (BOMD) and LAMMPS + DeePMD on the same LPS cell.

Cells come from lpsflow's amorphous sampler (x = 0.75, 1.9 g/cm3). CP2K runs a few NVE BOMD
steps with the DFT settings of ``config/config.yaml`` (``resolve_dft``, preset production by
default); its time per step is the median of the "Used time" of the steps after the first
(the first one starts from the atomic guess). The DeePMD model has the architecture of
``config/deepmd.json`` but is trained only ``--train-steps`` steps on a few frames labelled
with the cheap CP2K preset: good enough for timing (the cost does not depend on the weights),
useless as a force field. LAMMPS time per step is the "Loop time" of its log / steps (model
loading excluded). CP2K, DP uncompressed and DP compressed alternate (A B C A B C ...).
A second part times the compressed and uncompressed model on repeated cells of about 100,
1,000 and 10,000 atoms (atom-steps per second, peak memory from /usr/bin/time -v).
When the teacher extra is installed, the teacher potential (CHGNet through ASE, the
workflow's ``run_teacher_md``; ``bench/_teacher_timing.py``) is timed in the same alternation
on the same cells (the scaling cells up to ``--teacher-max-atoms``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from _common import (
    REPO,
    Record,
    alternate,
    cp2k_version,
    cpu_s,
    dft_settings,
    max_rss_mib,
    median,
    parser,
    run_cp2k,
    wall_s,
)
from ase import Atoms
from ase.io import write

sys.path.insert(0, str(REPO / "src"))

from lpsflow.amorphous import MinDistances  # noqa: E402
from lpsflow.dft import Outcome, get_engine  # noqa: E402
from lpsflow.dft.cp2k import classify, input_text, parse  # noqa: E402
from lpsflow.perturb import perturbed_frames  # noqa: E402
from lpsflow.production import production_cell  # noqa: E402
from lpsflow.structures import amorphous_cell  # noqa: E402
from lpsflow.training import (  # noqa: E402
    compress,
    deepmd_input,
    dp_env,
    neighbor_sel,
    python_tool,
    train_member,  # noqa: E402
)

TYPE_MAP = ["Li", "P", "S"]
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "DP_INTRA_OP_PARALLELISM_THREADS",
    "DP_INTER_OP_PARALLELISM_THREADS",
    "TF_INTRA_OP_PARALLELISM_THREADS",
    "TF_INTER_OP_PARALLELISM_THREADS",
)


def lps_cell(n_atoms: int) -> Atoms:
    comp = {"name": "LPS75", "x": 0.75, "n_atoms": n_atoms, "density": 1.9, "seed": 0}
    return amorphous_cell(comp, 0, MinDistances(li=1.8, anion=3.0))


# ---- CP2K BOMD ----
def cp2k_md_input(atoms: Atoms, dft: dict, steps: int, temperature: float = 600.0) -> str:
    """lpsflow's labelling input turned into NVE BOMD: same Quickstep settings, no stress,
    no per-step force printing (the labelling job needs both, an AIMD run does not)."""
    text = input_text(atoms, dft).replace("RUN_TYPE ENERGY_FORCE", "RUN_TYPE MD")
    text = text.replace("  STRESS_TENSOR ANALYTICAL\n", "")
    text = re.sub(r"  &PRINT\n.*?  &END PRINT\n", "", text, flags=re.S)
    motion = f"""&MOTION
  &MD
    ENSEMBLE NVE
    STEPS {steps}
    TIMESTEP 1.0
    TEMPERATURE {temperature}
  &END MD
&END MOTION
"""
    return text + motion


def cp2k_step_times(output: str) -> list[float]:
    """Wall seconds of each MD step from a CP2K output (" MD| ... Used time [s]" lines or the
    older "CPU TIME [s]" table; CP2K measures both with the wall clock)."""
    times = re.findall(r"MD\| (?:Used time|CPU time per MD step) \[s\]\s+([0-9.]+)", output)
    if not times:
        times = re.findall(r"CPU TIME \[s\]\s+=\s+([0-9.]+)", output)
    return [float(t) for t in times]


def run_cp2k_md(atoms: Atoms, dft: dict, steps: int, threads: int, workdir: Path) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "md.inp").write_text(cp2k_md_input(atoms, dft, steps))
    (workdir / "md.out").unlink(missing_ok=True)
    proc = run_cp2k(dft, "md", threads, workdir)
    out = (workdir / "md.out").read_text(errors="replace") if (workdir / "md.out").exists() else ""
    if proc.returncode != 0 or "PROGRAM ENDED AT" not in out:
        raise RuntimeError(f"CP2K MD failed in {workdir}: {proc.stderr[-2000:]}")
    if "SCF run NOT converged" in out:
        raise RuntimeError(f"CP2K MD: SCF not converged in {workdir}")
    step = cp2k_step_times(out)
    for scratch in workdir.glob("*.wfn*"):
        scratch.unlink()
    # the first entry is the initial force evaluation (atomic guess) or MD step 1
    later = step[1:] if len(step) > 1 else step
    return {
        "s_per_step": median(later),
        "steps": step,
        "wall_s": wall_s(proc.stderr),
        "cpu_s_per_evaluation": (cpu_s(proc.stderr) or float("nan")) / (steps + 1),
        "max_rss_mib": max_rss_mib(proc.stderr),
    }


def cp2k_progress(output: str) -> dict:
    """What a (possibly unfinished) CP2K MD output has done so far: wall seconds of every SCF
    iteration (the "Time" column), SCF iterations of every converged SCF (the first one starts
    from the atomic guess), and the MD step times printed so far."""
    iters = re.findall(r"^\s+\d+ (?:Broy\.|NoMix)/Diag\.\s+\S+\s+([0-9.]+)\s", output, re.M)
    converged = re.findall(r"SCF run converged in\s+(\d+) steps", output)
    return {
        "scf_iteration_s": [float(x) for x in iters],
        "scf_iterations_per_evaluation": [int(x) for x in converged],
        "md_step_s": cp2k_step_times(output),
    }


# ---- DeePMD model ----
def make_model(workdir: Path, cell: Atoms, train_steps: int, template: Path, n_frames: int) -> dict:
    """Label ``n_frames`` perturbed copies of ``cell`` (cheap CP2K preset), train a model of
    ``template``'s architecture for ``train_steps`` steps, freeze and compress it."""
    import dpdata

    data = workdir / "data"
    if not (workdir / "graph.pb").exists():
        dft = dft_settings("cheap", dispersion="none")
        engine = get_engine("cp2k", {**dft, "timeout_s": 900}, threads=1)
        frames = perturbed_frames(cell, n_frames, 0.05, 3.0, seed=0)
        systems = dpdata.MultiSystems(type_map=TYPE_MAP)
        for k, atoms in enumerate(frames):
            done = workdir / "label" / f"frame_{k}" / "cp2k.out"
            if done.exists() and not classify(done, 0, False):  # labelled by an earlier run
                outcome = Outcome(parse(done, atoms)[0])
            else:
                outcome = engine.run(atoms, done.parent, 0)
            if not outcome.ok:
                raise RuntimeError(f"labelling frame {k} failed: {outcome.reason}")
            systems.append(outcome.system)
        shutil.rmtree(data, ignore_errors=True)
        systems.to("deepmd/npy", str(data))
        train_dirs = sorted(str(p.parent) for p in data.rglob("type.raw"))
        tmpl = json.loads(template.read_text())
        rcut = tmpl["model"]["descriptor"]["rcut"]
        sel = neighbor_sel(train_dirs, rcut, TYPE_MAP, 1.5)
        inp = deepmd_input(
            tmpl,
            type_map=TYPE_MAP,
            sel=sel,
            seed=1,
            steps=train_steps,
            train_systems=train_dirs,
            valid_systems=[],
        )
        inp["training"]["disp_freq"] = max(1, train_steps)
        inp["training"]["save_freq"] = max(1, train_steps)
        with open(workdir / "train.log", "w") as log:
            train_member(inp, workdir / "model", 1, log)
            shutil.copy(workdir / "model" / "graph.pb", workdir / "graph.pb")
            compress(workdir / "graph.pb", workdir / "compressed.pb", 1, log)
    inp = json.loads((workdir / "model" / "input.json").read_text())
    return {
        "graph": workdir / "graph.pb",
        "compressed": workdir / "compressed.pb",
        "sel": inp["model"]["descriptor"]["sel"],
        "rcut": inp["model"]["descriptor"]["rcut"],
    }


def lammps_text(model: Path, steps: int) -> str:
    return f"""units metal
boundary p p p
atom_style atomic
read_data conf.lmp
pair_style deepmd {model}
pair_coeff * * {" ".join(TYPE_MAP)}
neighbor 1.0 bin
timestep 0.001
velocity all create 600 1 dist gaussian mom yes rot yes
fix integ all nvt temp 600 600 0.1
thermo {steps}
run 1
run {steps}
"""


def teacher_available() -> bool:
    """True when the teacher potential's package (the ``teacher`` extra) is installed."""
    import importlib.util

    return importlib.util.find_spec("chgnet") is not None


def run_teacher(atoms: Atoms, steps: int, threads: int, workdir: Path) -> dict:
    """The teacher's MD on ``atoms`` in its own process (bench/_teacher_timing.py)."""
    workdir.mkdir(parents=True, exist_ok=True)
    write(workdir / "cell.extxyz", atoms, format="extxyz")
    script = REPO / "bench" / "_teacher_timing.py"
    cmd = ["/usr/bin/time", "-v", sys.executable, str(script), "cell.extxyz", str(steps)]
    proc = subprocess.run(
        [*cmd, str(threads)], cwd=workdir, env=dp_env(threads), capture_output=True, text=True
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"teacher timing failed in {workdir}: {proc.stderr[-1500:]}")
    return {**json.loads(lines[-1]), "max_rss_mib": max_rss_mib(proc.stderr)}


def run_lammps(atoms: Atoms, model: Path, steps: int, threads: int | None, workdir: Path) -> dict:
    """LAMMPS NVT with one DeePMD model; ``threads`` None = no thread variables set."""
    import os

    workdir.mkdir(parents=True, exist_ok=True)
    write(workdir / "conf.lmp", atoms, format="lammps-data", specorder=TYPE_MAP, masses=True)
    (workdir / "in.lammps").write_text(lammps_text(model.resolve(), steps))
    if threads is None:
        env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    else:
        env = dp_env(threads)
    proc = subprocess.run(
        ["/usr/bin/time", "-v", python_tool("lmp"), "-in", "in.lammps"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    log = (workdir / "log.lammps").read_text() if (workdir / "log.lammps").exists() else ""
    # the last run: the first one (1 step) pays TensorFlow's warm-up and the neighbour lists
    found = re.findall(
        r"Loop time of ([0-9.eE+-]+) on \d+ procs for (\d+) steps with (\d+) atoms", log
    )
    m = found[-1] if found else None
    if proc.returncode != 0 or not m:
        raise RuntimeError(
            f"LAMMPS failed in {workdir}: {proc.stdout[-1500:]} {proc.stderr[-1500:]}"
        )
    loop, n_steps, n_atoms = float(m[0]), int(m[1]), int(m[2])
    use = ([None] + re.findall(r"([0-9.]+)% CPU use", log))[-1]
    cpu_per_step = loop * float(use) / 100 / n_steps if use else float("nan")
    return {
        "s_per_step": loop / n_steps,
        "cpu_s_per_step": cpu_per_step,
        "atoms": n_atoms,
        "max_rss_mib": max_rss_mib(proc.stderr),
    }


def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[32, 48], help="atoms of the AIMD cells")
    p.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    p.add_argument("--cp2k-steps", type=int, default=3, help="BOMD steps per CP2K run")
    p.add_argument("--dp-steps", type=int, default=1000, help="LAMMPS steps on the AIMD cells")
    p.add_argument("--repeats", type=int, default=2, help="rounds of the A B C alternation")
    p.add_argument("--cp2k-sizes", type=int, nargs="*", help="sizes CP2K runs for (default: all)")
    p.add_argument(
        "--cp2k-threads", type=int, nargs="*", help="threads CP2K runs with (default: all)"
    )
    p.add_argument("--cp2k-repeats", type=int, default=1, help="CP2K runs per cell (first rounds)")
    p.add_argument("--preset", default="production", help="DFT preset of the CP2K runs")
    p.add_argument("--scaling-atoms", type=int, nargs="*", default=[100, 1000, 10000])
    p.add_argument("--atom-steps", type=float, default=1e5, help="atoms x steps per scaling run")
    p.add_argument("--train-steps", type=int, default=100)
    p.add_argument("--label-frames", type=int, default=3)
    p.add_argument("--template", type=Path, default=REPO / "config" / "deepmd.json")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/lpsflow-bench/dp_vs_aimd"))
    p.add_argument("--graph", type=Path, help="use this frozen model instead of training one")
    p.add_argument("--compressed", type=Path, help="its compressed version (with --graph)")
    p.add_argument("--teacher-steps", type=int, default=50, help="teacher MD steps, AIMD cells")
    p.add_argument("--teacher-atom-steps", type=float, default=2e4, help="per teacher scaling run")
    p.add_argument("--teacher-max-atoms", type=int, default=1100, help="largest teacher cell")
    p.add_argument(
        "--thread-env-check",
        action="store_true",
        help="also time LAMMPS without thread variables (TensorFlow's defaults)",
    )
    args = p.parse_args(argv)
    if args.smoke:
        args.sizes, args.threads, args.cp2k_steps, args.dp_steps = [16], [1], 1, 20
        args.repeats, args.preset, args.scaling_atoms, args.atom_steps = 1, "cheap", [32], 640
        args.train_steps, args.label_frames, args.teacher_steps = 1, 1, 5
        args.teacher_atom_steps = 320  # 10 steps of the 32-atom cell
        args.template = REPO / "config" / "deepmd-demo.json"
        args.workdir = args.workdir.with_name(args.workdir.name + "_smoke")
    rec = Record(
        "dp_vs_aimd",
        {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "out"},
        smoke=args.smoke,
    )
    dft = dft_settings(args.preset, dispersion="none" if args.smoke else None)
    rec.data["inputs"]["dft"] = {
        k: dft[k] for k in ("functional", "dispersion", "basis", "cutoff", "rel_cutoff", "eps_scf")
    }
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.graph:  # a model made elsewhere (e.g. a finished campaign's results/model)
        model = {"graph": args.graph, "compressed": args.compressed or args.graph}
        rec.data["inputs"]["model"] = {"graph": str(args.graph), "compressed": str(args.compressed)}
    else:
        model = make_model(
            args.workdir,
            lps_cell(args.sizes[0]),
            args.train_steps,
            args.template,
            args.label_frames,
        )
        rec.data["inputs"]["model"] = {
            "sel": model["sel"],
            "rcut": model["rcut"],
            "train_steps": args.train_steps,
            "trained_on": f"{args.label_frames} cheap-preset CP2K frames",
        }
        rec.note("DP model: production architecture, trained only briefly (timing only)")

    def aimd_section(n: int, t: int, with_cp2k: bool) -> None:
        cell = lps_cell(n)
        w = args.workdir / f"n{n}_t{t}"
        runs: dict[str, list[dict]] = {"cp2k": [], "dp": [], "dp_compressed": [], "teacher": []}

        def cp2k() -> float:
            r = runs["cp2k"]
            r.append(run_cp2k_md(cell, dft, args.cp2k_steps, t, w / f"cp2k_{len(r)}"))
            return r[-1]["s_per_step"]

        def dp(key: str, graph: Path) -> float:
            runs[key].append(run_lammps(cell, graph, args.dp_steps, t, w / key))
            return runs[key][-1]["s_per_step"]

        tasks = {
            "cp2k": cp2k,
            "dp": lambda: dp("dp", model["graph"]),
            "dp_compressed": lambda: dp("dp_compressed", model["compressed"]),
        }
        if with_teacher:
            tasks["teacher"] = lambda: teacher(cell, args.teacher_steps, t, w / "teacher", runs)
        if not with_cp2k:
            tasks.pop("cp2k")
        values = alternate(tasks, args.repeats, {"cp2k": args.cp2k_repeats})
        med = {k: median(v) for k, v in values.items()}
        details[f"n{n}_t{t}"] = {"values_s_per_step": values, "median_s_per_step": med, **runs}
        tag = f"{len(cell)} atoms, {t} thread{'s' if t > 1 else ''}"
        rec.figure(f"dp s/step ({tag})", med["dp"], "s")
        rec.figure(f"dp compressed s/step ({tag})", med["dp_compressed"], "s")
        rec.figure(f"dp/dp compressed ({tag})", med["dp"] / med["dp_compressed"], "x")
        if with_teacher:
            rec.figure(f"teacher s/step ({tag})", med["teacher"], "s")
            rec.figure(f"teacher/dp compressed ({tag})", med["teacher"] / med["dp_compressed"], "x")
            cpu_t = median([r["cpu_s_per_step"] for r in runs["teacher"]])
            cpu_c = median([r["cpu_s_per_step"] for r in runs["dp_compressed"]])
            rec.figure(f"CPU teacher/dp compressed ({tag})", cpu_t / cpu_c, "x")
            if with_cp2k:
                rec.figure(f"cp2k/teacher ({tag})", med["cp2k"] / med["teacher"], "x")
        if with_cp2k:
            rec.figure(f"cp2k s/step ({tag})", med["cp2k"], "s")
            rec.figure(f"cp2k/dp ({tag})", med["cp2k"] / med["dp"], "x", ">= 1e4")
            rec.figure(
                f"cp2k/dp compressed ({tag})", med["cp2k"] / med["dp_compressed"], "x", ">= 1e4"
            )
            # CPU seconds: less sensitive to the other users of the machine than wall time
            cpu_cp2k = median([r["cpu_s_per_evaluation"] for r in runs["cp2k"]])
            cpu_dpc = median([r["cpu_s_per_step"] for r in runs["dp_compressed"]])
            cpu_dp = median([r["cpu_s_per_step"] for r in runs["dp"]])
            rec.figure(f"cp2k CPU s per force evaluation ({tag})", cpu_cp2k, "s")
            rec.figure(f"CPU cp2k/dp ({tag})", cpu_cp2k / cpu_dp, "x", ">= 1e4")
            rec.figure(f"CPU cp2k/dp compressed ({tag})", cpu_cp2k / cpu_dpc, "x", ">= 1e4")
        rec.write(args.out, versions)  # partial record: a long run keeps what it measured

    versions = {"cp2k": cp2k_version(dft["command"])}
    with_teacher = teacher_available()
    if not with_teacher:
        rec.note("teacher potential (CHGNet via ASE): not timed, `chgnet` is not installed")

    def teacher(cell: Atoms, steps: int, threads: int, workdir: Path, runs: dict) -> float:
        runs["teacher"].append(run_teacher(cell, steps, threads, workdir))
        return runs["teacher"][-1]["s_per_step"]

    details: dict = {}
    rec.data["details"] = details
    cp2k_sizes = args.sizes if args.cp2k_sizes is None else args.cp2k_sizes
    cp2k_threads = args.threads if args.cp2k_threads is None else args.cp2k_threads
    sections = [
        (n, t, n in cp2k_sizes and t in cp2k_threads) for n in args.sizes for t in args.threads
    ]
    for n, t, with_cp2k in sections:  # the quick DP-only sections first
        if not with_cp2k:
            aimd_section(n, t, False)

    base = lps_cell(args.sizes[0])
    for n in args.scaling_atoms:
        cell = production_cell(base, n) if n > len(base) else base
        steps = max(3, int(args.atom_steps / len(cell)))
        w = args.workdir / f"scale_{n}"
        runs: dict[str, list] = {"c": [], "u": [], "teacher": []}

        def lammps(key: str, graph: Path, c=cell, s=steps, w=w, r=runs) -> float:
            r[key].append(run_lammps(c, graph, s, 1, w / key))
            return r[key][-1]["s_per_step"]

        tasks = {
            "compressed": lambda: lammps("c", model["compressed"]),
            "uncompressed": lambda: lammps("u", model["graph"]),
        }
        if with_teacher and len(cell) <= args.teacher_max_atoms:
            t_steps = max(3, int(args.teacher_atom_steps / len(cell)))
            tasks["teacher"] = lambda c=cell, s=t_steps, w=w, r=runs: teacher(c, s, 1, w / "t", r)
        values = alternate(tasks, args.repeats)
        med = {k: median(v) for k, v in values.items()}
        mem = {k: max((r["max_rss_mib"] or 0 for r in v), default=0) for k, v in runs.items()}
        details[f"scale_{len(cell)}"] = {
            "steps": steps,
            "values_s_per_step": values,
            "max_rss_mib": mem,
            "runs": runs,
        }
        for key, label in (("c", "compressed"), ("u", "uncompressed")):
            cpu = median([r["cpu_s_per_step"] for r in runs[key]])
            rec.figure(
                f"atom-steps per CPU second {label} ({len(cell)} atoms)", len(cell) / cpu, "1/s"
            )
        rec.figure(
            f"atom-steps/s/core compressed ({len(cell)} atoms)",
            len(cell) / med["compressed"],
            "1/s",
            ">= 1e4",
        )
        rec.figure(
            f"atom-steps/s/core uncompressed ({len(cell)} atoms)",
            len(cell) / med["uncompressed"],
            "1/s",
        )
        if runs["teacher"]:
            cpu = median([r["cpu_s_per_step"] for r in runs["teacher"]])
            rec.figure(
                f"teacher atom-steps per CPU second ({len(cell)} atoms)", len(cell) / cpu, "1/s"
            )
            rec.figure(
                f"teacher atom-steps/s/core ({len(cell)} atoms)", len(cell) / med["teacher"], "1/s"
            )
            rec.figure(f"teacher peak memory ({len(cell)} atoms)", mem["teacher"], "MiB")
        rec.figure(f"peak memory compressed ({len(cell)} atoms)", mem["c"], "MiB")
        rec.figure(f"peak memory uncompressed ({len(cell)} atoms)", mem["u"], "MiB")
        rec.write(args.out, versions)

    if args.thread_env_check and not args.smoke:
        cell = production_cell(base, 1000) if not args.smoke else base
        steps = max(5, int(args.atom_steps / len(cell)))
        w = args.workdir / "threads_env"
        tasks = {
            "tf_defaults": lambda: run_lammps(cell, model["compressed"], steps, None, w / "d")[
                "s_per_step"
            ],
            "dp_env_1": lambda: run_lammps(cell, model["compressed"], steps, 1, w / "one")[
                "s_per_step"
            ],
        }
        values = alternate(tasks, args.repeats)
        details["thread_env"] = {"atoms": len(cell), "steps": steps, "values_s_per_step": values}
        rec.figure(
            f"s/step no thread variables ({len(cell)} atoms)", median(values["tf_defaults"]), "s"
        )
        rec.figure(f"s/step dp_env(1) ({len(cell)} atoms)", median(values["dp_env_1"]), "s")

    for n, t, with_cp2k in sections:
        if with_cp2k:
            aimd_section(n, t, True)

    rec.data["teacher"] = "timed" if with_teacher else "not installed"
    rec.write(args.out, versions)


if __name__ == "__main__":
    main()
