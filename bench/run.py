"""Runner: discover the benchmarks (every ``bench/NAME.py`` but this file and ``_*.py``), run
them one after the other and print a table of their figures.

    python bench/run.py                  # every benchmark, full size (long: see docs/benchmarks.md)
    python bench/run.py --smoke          # every benchmark, tiny inputs (tests/test_bench.py)
    python bench/run.py dp_vs_aimd workflow_overhead -- --repeats 3
    python bench/run.py --table          # table of the records in bench/records/ (markdown)
    python bench/run.py --readme         # README demo figures from the demo records

Each benchmark runs as ``python bench/NAME.py [--smoke] --out DIR [extra args]`` with the
repository's ``src`` first on PYTHONPATH; it must exit 0 and write ``DIR/NAME.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from _readme import write_readme

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SKIP = {"run.py", "__init__.py", "__main__.py"}


def discover() -> list[str]:
    """Names of the benchmark scripts in bench/, sorted."""
    return sorted(p.stem for p in HERE.glob("*.py") if p.name not in SKIP and p.name[0] != "_")


def where_written(extra: list[str]) -> dict:
    """``--name``/``--out`` among a benchmark's extra arguments, in either argparse form
    (``--name X`` or ``--name=X``; the last one wins, as in argparse)."""
    given = {}
    for i, arg in enumerate(extra):
        key, eq, value = arg.partition("=")
        if key in ("--name", "--out"):
            if eq:
                given[key] = value
            elif i + 1 < len(extra):
                given[key] = extra[i + 1]
    return given


def run_one(name: str, out: Path, smoke: bool, extra: list[str]) -> dict:
    """Run benchmark ``name``; its record (with ``returncode``) or a failure record."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, str(HERE / f"{name}.py"), "--out", str(out), *extra]
    if smoke:
        cmd.insert(2, "--smoke")
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=REPO, env=env)
    given = where_written(extra)
    path = Path(given.get("--out", out)) / f"{given.get('--name', name)}.json"  # as the script
    if proc.returncode != 0 or not path.exists():
        return {"name": name, "returncode": proc.returncode, "status": "failed", "figures": {}}
    record = json.loads(path.read_text())
    record["returncode"] = 0
    return record


def table(records: list[dict]) -> str:
    """Markdown rows: benchmark, figure, value, unit, target, status, load at start/end."""
    lines = [
        "| benchmark | figure | value | unit | target | status | load start / end |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in records:
        load = ""
        if "loadavg_start" in r:
            load = f"{r['loadavg_start'][0]:.1f} / {r.get('loadavg_end', [float('nan')])[0]:.1f}"
        figures = r.get("figures") or {"-": {"value": "", "unit": "", "target": ""}}
        for key, f in figures.items():
            v = f["value"]
            shown = f"{v:.3g}" if isinstance(v, float) else str(v)
            lines.append(
                f"| {r['name']} | {key} | {shown} | {f['unit']} | {f['target']} | "
                f"{r.get('status', '')} | {load} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        argv, extra = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    p = argparse.ArgumentParser(description="Run lpsflow's benchmarks (bench/*.py).")
    p.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {discover()})")
    p.add_argument("--smoke", action="store_true", help="tiny inputs (checks the scripts run)")
    p.add_argument("--out", type=Path, default=HERE / "records", help="folder of the records")
    p.add_argument("--table", action="store_true", help="only print the table of the records")
    p.add_argument(
        "--readme", action="store_true", help="rewrite README's demo figures from the records"
    )
    args = p.parse_args(argv)
    if args.readme:
        changed = write_readme(folder=args.out)
        print("README.md updated" if changed else "README.md already matches the records")
        return 0
    names = args.names or discover()
    unknown = sorted(set(names) - set(discover()))
    if unknown:
        p.error(f"unknown benchmark(s) {unknown}; known: {discover()}")
    if args.table:
        records = [
            {"name": n, **json.loads((args.out / f"{n}.json").read_text())}  # older records lack it
            for n in names
            if (args.out / f"{n}.json").exists()
        ]
        print(table(records))
        return 0
    records = [run_one(n, args.out, args.smoke, extra) for n in names]
    print(table(records))
    failed = [r["name"] for r in records if r["returncode"] != 0]
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
