"""Test suite: wall time of `pytest` (what `make test` runs after set-up) and its slowest tests.

Parses the ``slowest durations`` section that ``pytest --durations=N`` prints (setup, call
and teardown rows; a session fixture's setup is charged to the first test using it) and the
final summary line. Without ``--log`` it runs ``pytest --durations=N`` on ``--tests`` (the
whole suite by default: about half an hour on 2 cores) and parses its output.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from _common import REPO, Record, parser

ROW = re.compile(r"^([0-9.]+)s (setup|call|teardown)\s+(\S+)\s*$")
SUMMARY = re.compile(r"^=*\s*((?:\d+ \w+,? ?)+) in ([0-9.]+)s\b", re.M)


def parse_durations(text: str) -> dict:
    """Rows of the durations section, the counts of the summary line and its seconds."""
    rows = [
        {"seconds": float(m.group(1)), "phase": m.group(2), "test": m.group(3)}
        for line in text.splitlines()
        if (m := ROW.match(line.strip()))
    ]
    summary = SUMMARY.findall(text)
    counts, total = {}, None
    if summary:
        words, seconds = summary[-1]
        total = float(seconds)
        for n, what in re.findall(r"(\d+) (\w+)", words):
            counts[what] = int(n)
    per_test: dict[str, float] = {}
    for r in rows:
        per_test[r["test"]] = per_test.get(r["test"], 0.0) + r["seconds"]
    slowest = sorted(per_test.items(), key=lambda kv: -kv[1])
    return {"rows": rows, "per_test": slowest, "counts": counts, "pytest_s": total}


def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--log", type=Path, help="saved output of `pytest --durations=N` to parse")
    p.add_argument("--tests", nargs="*", default=[], help="test paths (default: the suite)")
    p.add_argument("--durations", type=int, default=25)
    p.add_argument("--top", type=int, default=10, help="slowest tests to report")
    args = p.parse_args(argv)
    if args.smoke and not args.log:
        args.tests = ["tests/test_stoichiometry.py"]
    rec = Record(
        "pytest_durations",
        {
            "log": str(args.log or ""),
            "tests": args.tests,
            "durations": args.durations,
            "name": args.name,
        },
        args.smoke,
    )
    if args.log:
        text = args.log.read_text(errors="replace")
    else:
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            f"--durations={args.durations}",
            "-p",
            "no:cacheprovider",
            *args.tests,
        ]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        rec.figure("pytest wall (measured around it)", time.perf_counter() - start, "s")
        text = proc.stdout + proc.stderr
        rec.data["returncode"] = proc.returncode
    d = parse_durations(text)
    if d["pytest_s"] is None:
        raise SystemExit("no pytest summary line found")
    rec.figure("pytest time (its summary line)", d["pytest_s"], "s")
    rec.figure("tests", d["counts"])
    for name, seconds in d["per_test"][: args.top]:
        rec.figure(f"slow: {name}", seconds, "s")
    rec.data["details"] = d
    rec.write(args.out)


if __name__ == "__main__":
    main()
