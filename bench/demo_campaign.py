"""Demo campaign: what it found (loop, fixed-test-set RMSE, DP against the teacher, glass
density) and what it cost (end-to-end and per-stage wall time, the scheduler's overhead).

The record is what README's demo tables are generated from (``python -m bench --readme``;
``tests/test_readme_figures.py`` fails when README differs from it); it carries the commit
that made it (``git``), so a record older than the science code is visible.

Reads a run directory: Snakemake's log (``.snakemake/log/*.snakemake.log``: when each job
started and finished, 1 s resolution) and the benchmark files of the heavy rules
(``benchmarks/**/*.tsv``: the job's own wall time ``s``, peak memory ``max_rss`` in MB and
``cpu_time``). The overhead of a job is its span in the log minus its benchmarked wall time.
Without ``--run-dir`` the README demo is run first (``snakemake --cores 2 --configfile
config/demo.yaml``) in ``--workdir`` and timed as a whole with /usr/bin/time -v;
``--seed-offset K`` adds K to every seed of the config (an independent campaign of the same
recipe: ``--seed-offset 1 --name demo_campaign_seed1``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml
from _common import REPO, Record, max_rss_mib, parser, wall_s

from lpsflow.report import teacher_test_table

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
START = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
FINISH = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")


def parse_log(text: str) -> pd.DataFrame:
    """One row per finished job of a Snakemake log: jobid, rule, start, end, span_s, benchmark."""
    jobs: dict[int, dict] = {}
    stamp, current = None, None
    for line in text.splitlines():
        s = line.strip()
        if m := STAMP.match(s):
            stamp = dt.datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
            current = None
        elif (m := START.match(s)) and stamp is not None:
            current = {"rule": m.group(1), "start": stamp, "benchmark": ""}
        elif current is not None and s.startswith("jobid:"):
            jobs[int(s.split()[1])] = current
        elif current is not None and s.startswith("benchmark:"):
            current["benchmark"] = s.split(None, 1)[1]
        elif (m := FINISH.match(s)) and int(m.group(1)) in jobs:
            jobs[int(m.group(1))]["end"] = stamp
    rows = [{"jobid": k, **v} for k, v in jobs.items() if "end" in v]
    table = pd.DataFrame(rows, columns=["jobid", "rule", "start", "end", "benchmark"])
    table["span_s"] = (table["end"] - table["start"]).dt.total_seconds()
    return table


def read_benchmarks(run_dir: Path) -> pd.DataFrame:
    """Every benchmarks/**/*.tsv of ``run_dir`` (last line of each: the last attempt)."""
    rows = []
    for path in sorted((run_dir / "benchmarks").rglob("*.tsv")):
        tsv = pd.read_csv(path, sep="\t")
        if len(tsv):
            rows.append({"benchmark": str(path.relative_to(run_dir)), **tsv.iloc[-1].to_dict()})
    return pd.DataFrame(rows)


def summarise(run_dir: Path) -> dict:
    """Per-rule table and totals of a finished run (the newest Snakemake log that ran jobs)."""
    logs = sorted((run_dir / ".snakemake" / "log").glob("*.snakemake.log"))
    tables = [parse_log(p.read_text(errors="replace")) for p in logs]
    tables = [t for t in tables if len(t)]
    if not tables:
        raise SystemExit(f"no finished jobs in the Snakemake logs of {run_dir}")
    jobs = tables[-1]
    bench = read_benchmarks(run_dir)
    if len(bench):
        jobs = jobs.merge(
            bench[["benchmark", "s", "max_rss", "cpu_time"]], on="benchmark", how="left"
        )
    else:
        jobs = jobs.assign(s=float("nan"), max_rss=float("nan"), cpu_time=float("nan"))
    jobs["overhead_s"] = jobs["span_s"] - jobs["s"]
    per_rule = (
        jobs.groupby("rule")
        .agg(
            jobs=("jobid", "size"),
            span_s=("span_s", "sum"),
            bench_s=("s", "sum"),
            cpu_s=("cpu_time", "sum"),
            max_rss_mb=("max_rss", "max"),
        )
        .sort_values("span_s", ascending=False)
    )
    for col, src in (("bench_s", "s"), ("cpu_s", "cpu_time")):  # NaN, not 0, without benchmark
        per_rule[col] = jobs.groupby("rule")[src].sum(min_count=1)
    wall = (jobs["end"].max() - jobs["start"].min()).total_seconds()
    return {
        "jobs": int(len(jobs)),
        "wall_s": wall,
        "jobs_per_minute": 60.0 * len(jobs) / wall if wall else float("nan"),
        "overhead_s_median": float(jobs["overhead_s"].median()),
        "overhead_jobs": int(jobs["overhead_s"].notna().sum()),
        "per_rule": per_rule.reset_index().to_dict(orient="records"),
    }


def _records(df: pd.DataFrame, columns: list[str]) -> list[dict]:
    """Rows of ``df`` as plain dicts of the ``columns`` it has (NaN kept as None)."""
    present = [c for c in columns if c in df.columns]
    out = df[present].astype(object).where(df[present].notna(), None)
    return out.to_dict(orient="records")


ITERATION_COLUMNS = [
    "iteration", "composition", "n_train", "n_test", "test_rmse_f", "accurate_ratio",
    "candidate_ratio", "failed_ratio", "n_too_close", "status",
]  # fmt: skip
COMPARISON_COLUMNS = [
    "composition", "temperature_K", "D_cm2_s_dp", "D_err_cm2_s_dp", "D_cm2_s_teacher",
    "D_err_cm2_s_teacher", "D_ratio", "sigma_S_cm_dp", "sigma_S_cm_teacher", "sigma_ratio",
    "volume_ratio", "D_agrees", "sigma_agrees",
]  # fmt: skip


def campaign_science(run_dir: Path) -> dict:
    """What README quotes about a finished demo, read from its ``results/``: per iteration and
    composition the training size, held-out force RMSE (eV/A) and exploration ratios; the
    fixed-test-set force RMSE (eV/A, mean over members) per iteration; the teacher-vs-DP
    comparison per temperature (D in cm^2/s, sigma in S/cm, box volume ratio); the glass
    densities (g/cm^3). Tables the run did not write are empty lists."""
    res = run_dir / "results"
    out: dict = {"iterations": [], "fixed_test": [], "teacher": [], "glasses": []}
    if (res / "loop" / "iterations.csv").exists():
        it = pd.read_csv(res / "loop" / "iterations.csv")
        out["iterations"] = _records(it, ITERATION_COLUMNS)
        last = it[it["iteration"] == it["iteration"].max()]
        out["n_iterations"] = int(it["iteration"].max()) + 1
        out["converged"] = bool((last["status"] == "converged").all())
    if (res / "teacher" / "test_rmse.csv").exists():
        test = teacher_test_table(pd.read_csv(res / "teacher" / "test_rmse.csv"))
        out["fixed_test"] = _records(test, ["iteration", "composition", "frames", "rmse_f"])
    if (res / "teacher" / "comparison.csv").exists():
        comparison = pd.read_csv(res / "teacher" / "comparison.csv")
        out["teacher"] = _records(comparison, COMPARISON_COLUMNS)
    for path in sorted((res / "production").glob("*/replica_*/density.json")):
        state = json.loads(path.read_text())
        out["glasses"].append(
            {
                "composition": path.parent.parent.name,
                "replica": int(path.parent.name.split("_")[-1]),
                "density_g_cm3": state.get("density_g_cm3"),
            }
        )
    return out


def with_seed_offset(config: dict, offset: int, schema: Path) -> dict:
    """``config`` with the schema's defaults filled in and ``offset`` added to every ``seed``
    (of every stage and composition): the same recipe, independent random numbers."""
    from snakemake.utils import validate

    config = json.loads(json.dumps(config))
    validate(config, schema=str(schema), set_default=True)

    def shift(node):
        if isinstance(node, dict):
            return {k: (v + offset if k == "seed" else shift(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [shift(v) for v in node]
        return node

    return shift(config)


def run_demo(workdir: Path, seed_offset: int = 0) -> dict:
    """Run the README demo in a fresh ``workdir``; wall time and peak memory of snakemake."""
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "config").mkdir(parents=True)
    for f in [*(REPO / "config").glob("*.yaml"), *(REPO / "config").glob("*.json")]:
        shutil.copy(f, workdir / "config" / f.name)
    if seed_offset:
        demo = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
        schema = REPO / "workflow" / "schemas" / "config.schema.yaml"
        shifted = with_seed_offset(demo, seed_offset, schema)
        (workdir / "config" / "demo.yaml").write_text(yaml.safe_dump(shifted, sort_keys=False))
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    cmd = [
        "/usr/bin/time",
        "-v",
        snakemake,
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(workdir),
        "--cores",
        "2",
        "--configfile",
        "config/demo.yaml",
    ]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"demo failed:\n{proc.stderr[-3000:]}")
    return {"wall_s": wall_s(proc.stderr), "max_rss_mib_snakemake": max_rss_mib(proc.stderr)}


def fresh_clone_demo(workdir: Path) -> dict:
    """Clone this repository's HEAD into a fresh ``workdir`` and run ``make setup``, then
    ``make demo`` there, as a new user does (the clone's own venv; CP2K from apt if missing):
    wall time of each, and their sum."""
    shutil.rmtree(workdir, ignore_errors=True)
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(workdir)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(REPO))
    )
    out = {
        "commit": subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=workdir, capture_output=True, text=True
        ).stdout.strip()
    }
    for target in ("setup", "demo"):
        proc = subprocess.run(
            ["/usr/bin/time", "-v", "make", target],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
        )
        (workdir / f"make_{target}.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise SystemExit(f"make {target} failed:\n{proc.stderr[-3000:]}")
        out[f"{target}_wall_s"] = wall_s(proc.stderr)
    out["wall_s"] = out["setup_wall_s"] + out["demo_wall_s"]
    return out


def write_smoke_run(root: Path) -> None:
    """A two-job run directory in Snakemake's formats (for the smoke mode)."""
    (root / ".snakemake" / "log").mkdir(parents=True)
    (root / "benchmarks" / "label").mkdir(parents=True)
    (root / ".snakemake" / "log" / "2026-01-01T000000.000000.snakemake.log").write_text(
        "[Thu Jan  1 00:00:00 2026]\nrule label_batch:\n    jobid: 1\n"
        "    benchmark: benchmarks/label/a.tsv\n[Thu Jan  1 00:00:12 2026]\n"
        "Finished jobid: 1 (Rule: label_batch)\n[Thu Jan  1 00:00:12 2026]\n"
        "localrule all:\n    jobid: 0\n[Thu Jan  1 00:00:13 2026]\n"
        "Finished jobid: 0 (Rule: all)\n"
    )
    (root / "benchmarks" / "label" / "a.tsv").write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        "10.5\t0:00:10\t300.1\t900.0\t280.0\t290.0\t0.1\t1.0\t95.0\t9.8\n"
    )


def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--run-dir", type=Path, help="finished run to summarise (else run the demo)")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/lpsflow-bench/demo"))
    p.add_argument("--seed-offset", type=int, default=0, help="added to every seed of the demo")
    p.add_argument(
        "--fresh-clone",
        action="store_true",
        help="clone HEAD into --workdir and time `make setup` and `make demo` there",
    )
    args = p.parse_args(argv)
    rec = Record(
        "demo_campaign",
        {
            "run_dir": str(args.run_dir or args.workdir),
            "name": args.name,
            "seed_offset": args.seed_offset,
            "fresh_clone": args.fresh_clone,
        },
        args.smoke,
    )
    if args.smoke:
        args.run_dir = args.workdir.with_name("demo_smoke")
        shutil.rmtree(args.run_dir, ignore_errors=True)
        write_smoke_run(args.run_dir)
    if args.run_dir is None and args.fresh_clone:
        whole = fresh_clone_demo(args.workdir)
        rec.figure("make setup on a fresh clone (time -v)", whole["setup_wall_s"], "s")
        rec.figure("make demo after it (time -v)", whole["demo_wall_s"], "s")
        rec.figure("fresh clone to report, set-up included", whole["wall_s"], "s")
        rec.data["details_run"] = whole
        args.run_dir = args.workdir
    if args.run_dir is None:
        whole = run_demo(args.workdir, args.seed_offset)
        rec.figure("demo end to end (time -v)", whole["wall_s"], "s")
        rec.data["details_run"] = whole
        args.run_dir = args.workdir
    s = summarise(args.run_dir)
    rec.figure("demo wall, first job start to last job end", s["wall_s"], "s")
    rec.figure("jobs", s["jobs"])
    rec.figure("jobs per minute", s["jobs_per_minute"], "1/min")
    rec.figure("scheduler overhead per job (median, benchmarked jobs)", s["overhead_s_median"], "s")
    for row in s["per_rule"]:
        print(
            f"  {row['rule']:22s} jobs {row['jobs']:3d}  span {row['span_s']:8.1f} s  "
            f"benchmark {row['bench_s']:8.1f} s  max_rss {row['max_rss_mb']} MB"
        )
    rec.data["details"] = s
    science = campaign_science(args.run_dir)
    if "n_iterations" in science:
        rec.figure("loop iterations", science["n_iterations"])
        rec.figure("loop converged", science["converged"])
    for row in science["teacher"]:
        t = f"{row['temperature_K']:g} K"
        rec.figure(f"DP / teacher D at {t}", row["D_ratio"])
        if row.get("volume_ratio") is not None:
            rec.figure(f"DP box / teacher box at {t}", row["volume_ratio"])
    rec.data["science"] = science
    rec.write(args.out)


if __name__ == "__main__":
    main()
