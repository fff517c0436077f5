"""Shared helpers of the benchmark scripts: JSON records, side-by-side timing, versions.

Every benchmark script ``bench/NAME.py`` follows one interface (see ``bench/README.md``):
``python bench/NAME.py [--smoke] [--out DIR]`` prints its figures and writes ``DIR/NAME.json``
with :func:`write_record`. The machine is shared, so timings are taken side by side in
alternation (A B A B ...) and reported as medians and ratios, with the load average at the
start and end of the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "records"
#: Python distributions whose versions every record carries (absent ones are skipped)
PACKAGES = ("lpsflow", "deepmd-kit", "tensorflow-cpu", "lammps", "snakemake", "ase", "numpy")
#: what decides a campaign's numbers: a record made before a change to any of these is stale
SCIENCE_PATHS = ("src/lpsflow", "workflow", "Snakefile", "config")


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)


def git_state() -> dict:
    """The commit the benchmark runs (``commit``; "" outside a git checkout) and whether the
    science files (:data:`SCIENCE_PATHS`) differ from it in the work tree (``dirty``: then the
    record was not made by that commit alone)."""
    head = _git("rev-parse", "HEAD")
    if head.returncode != 0:
        return {"commit": "", "dirty": None}
    status = _git("status", "--porcelain", "--", *SCIENCE_PATHS)
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def science_changes_since(commit: str, paths: tuple[str, ...] = SCIENCE_PATHS) -> list[str] | None:
    """Files under ``paths`` changed between ``commit`` and HEAD (committed changes only);
    None when ``commit`` is unknown here (a shallow clone, another history)."""
    if not commit or _git("cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        return None
    diff = _git("diff", "--name-only", commit, "HEAD", "--", *paths)
    return [line for line in diff.stdout.splitlines() if line.strip()]


def parser(description: str) -> argparse.ArgumentParser:
    """Argument parser with the options every benchmark has: --smoke and --out."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--name", help="record name (default: the script's); for partial runs")
    p.add_argument("--smoke", action="store_true", help="tiny inputs: checks the script runs")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder of the JSON record")
    return p


def software_versions(extra: dict | None = None) -> dict:
    """Versions of Python, the main packages and of programs given in ``extra``."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    versions.update(extra or {})
    return versions


def cp2k_version(command: str = "cp2k.psmp") -> str:
    """First version line of ``cp2k.psmp --version`` ("" when CP2K is missing)."""
    if shutil.which(command) is None:
        return ""
    out = subprocess.run([command, "--version"], capture_output=True, text=True).stdout
    return next((ln.strip() for ln in out.splitlines() if "CP2K version" in ln), out[:80])


def dft_settings(preset: str, dispersion: str | None = None) -> dict:
    """The shipped config's dft section with ``preset`` applied (schema defaults filled)."""
    import yaml
    from snakemake.utils import validate

    from lpsflow.dft import resolve_dft

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["dft"]["preset"] = preset
    if dispersion:
        config["dft"]["dispersion"] = dispersion
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return resolve_dft(config["dft"])


def run_cp2k(dft: dict, name: str, threads: int, workdir: Path) -> subprocess.CompletedProcess:
    """``dft["command"] -i NAME.inp -o NAME.out`` in ``workdir`` under ``/usr/bin/time -v``
    with ``threads`` OpenMP threads (other thread variables of the caller dropped) and the
    settings' CP2K data directory."""
    drop = ("DP_INTRA_OP_PARALLELISM_THREADS", "DP_INTER_OP_PARALLELISM_THREADS")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("TF_")}
    env["OMP_NUM_THREADS"] = str(threads)
    if dft.get("data_dir"):
        env["CP2K_DATA_DIR"] = str(dft["data_dir"])
    return subprocess.run(
        ["/usr/bin/time", "-v", dft["command"], "-i", f"{name}.inp", "-o", f"{name}.out"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )


class Record:
    """One benchmark's JSON record; the load average is taken when it is created."""

    def __init__(self, name: str, inputs: dict, smoke: bool = False):
        name = inputs.pop("name", None) or name  # --name overrides the script's name
        self.data = {
            "name": name,
            "smoke": smoke,
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "host": platform.node(),
            "cores": os.cpu_count(),
            "loadavg_start": list(os.getloadavg()),
            "git": git_state(),
            "inputs": inputs,
            "figures": {},
            "status": "measured",
            "notes": [],
        }

    def figure(self, key: str, value, unit: str = "", target: str = "") -> None:
        """Store (and print) one figure of the benchmark."""
        self.data["figures"][key] = {"value": value, "unit": unit, "target": target}
        shown = f"{value:.4g}" if isinstance(value, float) else value
        print(f"{self.data['name']}: {key} = {shown} {unit}".rstrip(), flush=True)

    def note(self, text: str) -> None:
        self.data["notes"].append(text)
        print(f"{self.data['name']}: note: {text}", flush=True)

    def write(self, out: Path, versions: dict | None = None) -> Path:
        """Write ``out/<name>.json`` with the load average at the end; returns its path."""
        self.data["loadavg_end"] = list(os.getloadavg())
        self.data["versions"] = software_versions(versions)
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{self.data['name']}.json"
        path.write_text(json.dumps(self.data, indent=2, default=str) + "\n")
        print(f"{self.data['name']}: record {path}", flush=True)
        return path


def write_script_record(name: str, load0: tuple, inputs: dict, figures: dict, **rest) -> Path:
    """Write ``bench/records/<name>.json`` for a one-file measurement script
    ``bench/records/<name>.py``: its command with the arguments it was given, date, commit,
    ``inputs``, cores, load average at the start (``load0``) and now, ``figures``, then
    ``rest`` (series, notes) in the order given; returns its path."""
    record = {
        "name": name,
        "command": f"PYTHONPATH=src .venv/bin/python bench/records/{name}.py "
        + " ".join(sys.argv[1:]),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git": {"commit": _git("rev-parse", "HEAD").stdout.strip()},
        "inputs": inputs,
        "cores": os.cpu_count(),
        "loadavg_start": load0,
        "loadavg_end": os.getloadavg(),
        "figures": figures,
        **rest,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def alternate(
    tasks: dict[str, Callable[[], float]], repeats: int, at_most: dict[str, int] | None = None
) -> dict[str, list[float]]:
    """Run every task once per round, ``repeats`` rounds (A B A B ...); the values each returned.

    ``at_most`` caps the runs of expensive tasks (``{"cp2k": 1}``: only in the first round).

    A task returns its own measurement (for example seconds per step read from a program's
    log), so start-up costs it does not want counted stay out.
    """
    values: dict[str, list[float]] = {name: [] for name in tasks}
    for _ in range(repeats):
        for name, task in tasks.items():
            if len(values[name]) < (at_most or {}).get(name, repeats):
                values[name].append(float(task()))
    return values


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def timed(fn: Callable[[], object]) -> float:
    """Wall time of ``fn()`` in seconds."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def wall_s(time_v_output: str) -> float | None:
    """Elapsed wall time (s) from the output of ``/usr/bin/time -v``."""
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([0-9:.]+)", time_v_output)
    if not m:
        return None
    parts = [float(x) for x in m.group(1).split(":")]
    return sum(v * 60**k for k, v in enumerate(reversed(parts)))


def cpu_s(time_v_output: str) -> float | None:
    """User + system CPU seconds from the output of ``/usr/bin/time -v``."""
    parts = re.findall(r"(?:User|System) time \(seconds\): ([0-9.]+)", time_v_output)
    return sum(float(x) for x in parts) if len(parts) == 2 else None


def max_rss_mib(time_v_output: str) -> float | None:
    """Peak resident memory (MiB) from the output of ``/usr/bin/time -v``."""
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_v_output)
    return int(m.group(1)) / 1024 if m else None
