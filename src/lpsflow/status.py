"""One line on where a campaign stands: ``python -m lpsflow.status CAMPAIGN``.

Read from the campaign folder only, while Snakemake runs or after it stopped:

- jobs done: Snakemake's metadata (``.snakemake/metadata``, one JSON record per output file
  of a finished job with its rule, file persistence backend), counted once per job whose
  outputs are still there and not marked incomplete (``.snakemake/incomplete``);
- the loop: the last iteration whose selection is done, its verdict and the accurate /
  candidate / failed ratios of each composition, from the tables of rule
  ``summarize_iteration`` (written as each iteration's selection ends; they carry the
  iteration); the latest iteration started, from the ``iter`` wildcard of the jobs in the
  latest log; the final iteration from rule ``export_model``'s manifest. No results path is
  assumed: the metadata says which file each rule wrote;
- jobs running and failed: the latest Snakemake log (``.snakemake/log/*.snakemake.log``):
  jobs started without a ``Finished jobid`` line or an ``Error in rule`` block are running
  while Snakemake holds its lock (``.snakemake/locks``), interrupted otherwise.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

_HEADER = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
_ERROR = re.compile(r"^Error in (?:rule|checkpoint) (\w+):$")
_JOBID = re.compile(r"^\s+jobid: (\d+)$")
_FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)")
_STEPS = re.compile(r"^(\d+) of (\d+) steps \(")
_ITER = re.compile(r"^\s+wildcards: .*\biter=(\d+)")


def _decode(record: Path, root: Path) -> str:
    """The output path a metadata or incomplete-marker file stands for (Snakemake's file
    persistence: urlsafe base64 of the path, split into folders whose names start with @)."""
    parts = [p.lstrip("@") for p in record.relative_to(root).parts]
    return base64.urlsafe_b64decode("".join(parts)).decode()


def _records(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {_decode(p, folder): p for p in folder.rglob("*") if p.is_file()}


def incomplete_outputs(campaign: Path) -> set[str]:
    """Outputs of jobs that started and did not finish (running, or killed)."""
    marks = _records(campaign / ".snakemake" / "incomplete")
    return {path for path in marks if path != "migration_underway"}


def finished_outputs(campaign: Path) -> dict[str, dict]:
    """Metadata record of every output file of a finished job still in the campaign."""
    incomplete = incomplete_outputs(campaign)
    out = {}
    for path, record in _records(campaign / ".snakemake" / "metadata").items():
        if path in incomplete or not (campaign / path).exists():
            continue
        try:
            data = json.loads(record.read_text())
        except (OSError, ValueError):  # being written
            continue
        if not data.get("incomplete"):
            out[path] = data
    return out


def jobs_done(campaign: Path) -> dict[str, int]:
    """Finished jobs per rule whose outputs are (at least partly) still in the campaign.

    A record exists per output file; a job counts once (its rule and ``job_hash``). A failed
    job's outputs are deleted by Snakemake, so its records do not count.
    """
    jobs = {
        (data.get("rule") or "?", data.get("job_hash") or hash(path))
        for path, data in finished_outputs(campaign).items()
    }
    counts: dict[str, int] = {}
    for rule, _ in jobs:
        counts[rule] = counts.get(rule, 0) + 1
    return counts


def outputs_by_rule(campaign: Path) -> dict[str, list[str]]:
    """Output files of finished jobs that are still in the campaign, per rule (sorted)."""
    out: dict[str, list[str]] = {}
    for path, data in finished_outputs(campaign).items():
        out.setdefault(data.get("rule") or "?", []).append(path)
    return {rule: sorted(paths) for rule, paths in out.items()}


@dataclass
class RunLog:
    """What the latest Snakemake run says about its jobs (job ids of that run)."""

    path: Path | None = None
    started: dict[int, str] = field(default_factory=dict)
    finished: set[int] = field(default_factory=set)
    failed: dict[int, str] = field(default_factory=dict)
    steps: tuple[int, int] | None = None  # (done, planned) of the last progress line
    iterations: set[int] = field(default_factory=set)  # ``iter`` wildcards of its jobs

    @property
    def open(self) -> dict[int, str]:
        """Jobs started and neither finished nor failed."""
        return {
            j: r for j, r in self.started.items() if j not in self.finished and j not in self.failed
        }


def read_log(path: Path) -> RunLog:
    """Started, finished and failed jobs of one ``.snakemake.log`` file."""
    log = RunLog(path=path)
    pending: tuple[str, str] | None = None  # (block kind, rule) until its jobid line
    for line in path.read_text(errors="replace").splitlines():
        if m := _FINISHED.match(line):
            log.finished.add(int(m.group(1)))
            log.failed.pop(int(m.group(1)), None)  # a retry that succeeded
        elif m := _ERROR.match(line):
            pending = ("error", m.group(1))
        elif m := _HEADER.match(line):
            pending = ("start", m.group(1))
        elif (m := _JOBID.match(line)) and pending:
            kind, rule = pending
            (log.failed if kind == "error" else log.started)[int(m.group(1))] = rule
            pending = None
        elif m := _STEPS.match(line):
            log.steps = (int(m.group(1)), int(m.group(2)))
        elif m := _ITER.match(line):
            log.iterations.add(int(m.group(1)))
    return log


def latest_log(campaign: Path) -> RunLog:
    logs = sorted((campaign / ".snakemake" / "log").glob("*.snakemake.log"))
    return read_log(logs[-1]) if logs else RunLog()


def locked(campaign: Path) -> bool:
    """Snakemake holds the campaign's lock (it runs, or it was killed without --unlock)."""
    folder = campaign / ".snakemake" / "locks"
    return folder.is_dir() and any(folder.iterdir())


@dataclass
class LoopState:
    """The latest iteration started, and the last one whose selection is done."""

    current: int | None = None
    last_done: int | None = None
    status: str | None = None  # verdict of last_done: continue, converged, stalled
    ratios: pd.DataFrame | None = None  # per composition: accurate, candidate, failed ratio
    n_selected: int | None = None


def loop_state(campaign: Path, outputs: dict | None = None, log: RunLog | None = None):
    """The loop's state from the iteration tables (rule ``summarize_iteration``) and the
    ``iter`` wildcards of the latest run's jobs."""
    outputs = outputs_by_rule(campaign) if outputs is None else outputs
    log = latest_log(campaign) if log is None else log
    tables = [pd.read_csv(campaign / p) for p in outputs.get("summarize_iteration", [])]
    table = pd.concat(tables) if tables else pd.DataFrame(columns=["iteration"])
    started = set(log.iterations) | {int(i) for i in table["iteration"]}
    state = LoopState(current=max(started) if started else None)
    if len(table):
        state.last_done = int(table["iteration"].max())
        rows = table[table["iteration"] == state.last_done]
        state.status = str(rows["status"].iloc[0])
        state.n_selected = int(rows["n_selected_all"].iloc[0])
        cols = ["accurate_ratio", "candidate_ratio", "failed_ratio"]
        keep = ["composition", *[c for c in cols if c in rows]]
        state.ratios = rows[keep].set_index("composition")
    return state


def _ratios(table: pd.DataFrame) -> str:
    cols = [c for c in ("accurate_ratio", "candidate_ratio", "failed_ratio") if c in table]
    names = "/".join(c.split("_")[0] for c in cols)
    values = ", ".join(
        f"{comp} " + "/".join(f"{row[c]:.2f}" for c in cols) for comp, row in table.iterrows()
    )
    return f"{names} {values}"


def status_line(campaign: str | Path) -> str:
    """One line: iteration and ratios, jobs done / running / failed, whether Snakemake runs."""
    campaign = Path(campaign)
    outputs, log = outputs_by_rule(campaign), latest_log(campaign)
    loop = loop_state(campaign, outputs, log)
    manifests = outputs.get("export_model", [])
    if loop.current is None:
        where = "no iteration yet"
    elif manifests and loop.last_done is not None:  # the final model is exported
        final = json.loads((campaign / manifests[0]).read_text())["iteration"]
        why = loop.status if loop.status != "continue" else "loop.max_iterations reached"
        where = f"loop ended at iteration {final} ({why})"
    else:
        where = f"iteration {loop.current}"
        if loop.last_done is None:
            where += " (no selection done yet)"
        else:
            ended = loop.status != "continue"
            state = f"loop {loop.status}" if ended else f"{loop.n_selected} candidates to label"
            if loop.last_done == loop.current:
                where += f" selected: {state}"
            else:
                where += f" running; iteration {loop.last_done}: {state}"
    if loop.ratios is not None and len(loop.ratios):
        where += f"; {_ratios(loop.ratios)}"
    done = sum(jobs_done(campaign).values())
    running = locked(campaign)
    open_jobs = len(log.open)
    jobs = f"jobs {done} done, {open_jobs if running else 0} running, {len(log.failed)} failed"
    if open_jobs and not running:
        jobs += f", {open_jobs} interrupted"
    if log.steps:
        jobs += f" (last run: {log.steps[0]} of {log.steps[1]} steps)"
    failed = sorted(set(log.failed.values()))
    if failed:
        jobs += f" [failed: {', '.join(failed)}]"
    snake = "snakemake running" if running else "snakemake not running"
    return f"{campaign}: {where} | {jobs} | {snake}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lpsflow.status", description=__doc__.splitlines()[0]
    )
    parser.add_argument("campaign", nargs="?", default=".", help="campaign folder (default .)")
    args = parser.parse_args(argv)
    if not Path(args.campaign).is_dir():
        print(f"{args.campaign}: not a folder", file=sys.stderr)
        return 2
    print(status_line(args.campaign))
    return 0


if __name__ == "__main__":
    sys.exit(main())
