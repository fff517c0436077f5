"""Every heavy job's estimated runtime against the time limit a `--profile slurm` dry run gives it.

The estimate is ``lpsflow.resources``' formula before rounding (atoms x steps / (atom-steps/s
per core x cores) x safety + overhead; training: steps x s/step x safety + overhead; labels:
``dft.timeout_s`` x ``dft.max_attempts``). The limit is the ``runtime`` Snakemake reports in a
dry run (``snakemake -n --profile slurm``) of the config in a scratch campaign folder with the
shipped profile (``slurm/``, its site file included), so a profile entry that replaced a sized
limit by a shorter one shows here. Two dry runs: a fresh campaign (labelling, iteration 0's
training and exploration) and, with placeholder model and sampled cells and
``--allowed-rules``, the glasses and production runs. Prints one row per job kind and exits 1
when a limit is below its estimate.

    python bench/resource_estimates.py [--config config/config.yaml]
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import yaml
from _common import REPO, Record, parser

sys.path.insert(0, str(REPO / "src"))

from lpsflow import resources as R  # noqa: E402

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
BLOCK = re.compile(r"^(?:rule|checkpoint) (\w+):\n(.*?)(?=^\S|\Z)", re.M | re.S)


def dry_run_jobs(text: str) -> list[dict]:
    """(rule, wildcards, threads, runtime) of every job in a ``snakemake -n`` output."""
    jobs = []
    for rule, body in BLOCK.findall(text):
        wc = re.search(r"^\s+wildcards: (.*)$", body, re.M)
        res = re.search(r"^\s+resources: (.*)$", body, re.M)
        threads = re.search(r"^\s+threads: (\d+)$", body, re.M)
        if not res:
            continue
        resources = dict(kv.split("=", 1) for kv in res.group(1).split(", ") if "=" in kv)
        wildcards = dict(kv.split("=", 1) for kv in wc.group(1).split(", ")) if wc else {}
        jobs.append(
            {
                "rule": rule,
                "wildcards": wildcards,
                "threads": int(threads.group(1)) if threads else 1,
                "resources": resources,
            }
        )
    return jobs


def estimate_minutes(rule: str, config: dict, wildcards: dict, threads: int, n_jobs: int) -> float:
    """The unrounded estimate (minutes) of one job, by the formula of lpsflow.resources."""
    r = R.ResourceSettings.from_config(config)
    atoms = {c["name"]: int(c["n_atoms"]) for c in config["compositions"]}
    wc = SimpleNamespace(**wildcards)
    dp = r.dp_atom_steps_per_s * (r.gpu_speedup if r.gpus > 0 else 1.0)
    if rule == "run_production":
        return R.md_minutes(R.production_atoms(config), R.production_steps(config), dp, threads, r)
    if rule in ("make_glass", "make_glass_at_rate"):
        rate = float(wc.rate) if rule == "make_glass_at_rate" else None
        steps = R.glass_steps(config, rate)
        return R.md_minutes(R.production_atoms(config), steps, r.dp_atom_steps_per_s, threads, r)
    if rule == "teacher_md":
        steps = R.teacher_steps(config)
        return R.md_minutes(
            R.production_atoms(config), steps, r.teacher_atom_steps_per_s, threads, r
        )
    if rule == "train_model":
        t = config["train"]
        steps = t["init_steps"] if int(wc.iter) > 0 and not t["from_scratch"] else t["steps"]
        speed = r.gpu_speedup if r.gpus > 0 else 1.0
        return steps * r.train_s_per_step / speed * r.safety / 60 + r.overhead_min
    if rule == "explore_md":
        steps_list = config["explore"]["steps"]
        steps = steps_list[min(int(wc.iter), len(steps_list) - 1)]
        waves = -(-n_jobs // max(threads, 1))
        per_run = atoms[wc.comp] * steps / (dp / config["train"]["n_models"]) * r.safety / 60
        return waves * per_run + r.overhead_min
    if rule in ("label_frame", "label_candidate"):
        d = config["dft"]
        return d["timeout_s"] * d["max_attempts"] / 60 + r.overhead_min
    if rule == "aimd_init" and config["dft"]["engine"] == "mlip":  # the teacher's own MD
        steps = config["init"]["aimd"]["steps"] + 1
        return R.md_minutes(atoms[wc.comp], steps, r.teacher_atom_steps_per_s, threads, r)
    if rule == "aimd_init":
        cores = R.dft_ranks(config) * config["dft"]["threads"]
        per_step = r.dft_core_s_per_step * (atoms[wc.comp] / R.DFT_REFERENCE_ATOMS) ** 3 / cores
        return (config["init"]["aimd"]["steps"] + 1) * per_step * r.safety / 60 + r.overhead_min
    raise KeyError(rule)


def campaign(folder: Path, config: dict) -> None:
    """A scratch campaign: its config, the DeePMD templates and the shipped Slurm profile."""
    (folder / "config").mkdir(parents=True)
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    for template in (REPO / "config").glob("*.json"):
        shutil.copy2(template, folder / "config")
    shutil.copytree(REPO / "slurm", folder / "slurm")


def dry_run(folder: Path, *extra: str) -> str:
    proc = subprocess.run(
        [SNAKEMAKE, "-n", "-s", str(REPO / "Snakefile"), "--profile", "slurm", *extra],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dry run failed: {proc.stderr[-3000:]}")
    return proc.stdout + proc.stderr


def validated(config: dict) -> dict:
    from snakemake.utils import validate

    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return config


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=REPO / "config" / "config.yaml")
    args = p.parse_args(argv)
    raw = yaml.safe_load(args.config.read_text())
    rec = Record(args.name or "resource_estimates", {"config": str(args.config)}, smoke=args.smoke)
    with tempfile.TemporaryDirectory(prefix="lpsflow-resources-") as tmp:
        folder = Path(tmp)
        campaign(folder, raw)
        text = dry_run(folder)
        # the site file the profile loads joins the config, as in the dry run
        site = folder / "slurm" / "site.yaml"
        config = dict(raw)
        if site.exists():
            for key, value in (yaml.safe_load(site.read_text()) or {}).items():
                config[key] = {**config.get(key, {}), **value}
        config = validated(config)
        replicas = int(config["production"]["replicas"])
        for comp in config["compositions"]:
            for r in range(int(comp.get("replicas", 1))):
                cell = folder / "results" / "sample" / comp["name"] / f"replica_{r}.extxyz"
                cell.parent.mkdir(parents=True, exist_ok=True)
                cell.write_text("")
        (folder / "results" / "model").mkdir(parents=True)
        (folder / "results" / "model" / "manifest.json").write_text("{}")
        temps = config["production"]["temperatures"]
        targets = [
            f"results/production/{c['name']}/replica_{r}/T{t:g}/li.dcd"
            for c in config["compositions"]
            for r in range(replicas)
            for t in temps
        ]
        text += dry_run(folder, *targets, "--allowed-rules", "make_glass", "run_production")
    n_jobs = len(
        __import__("lpsflow.exploration", fromlist=["x"]).schedule_jobs(
            config["explore"]["schedule"]
        )
    )
    rows, seen, bad = [], set(), []
    for job in dry_run_jobs(text):
        if job["rule"] not in R.SIZED_RULES:
            continue
        key = (
            job["rule"],
            tuple(
                sorted((k, v) for k, v in job["wildcards"].items() if k in ("iter", "comp", "rate"))
            ),
        )
        if key in seen:
            continue
        seen.add(key)
        est = estimate_minutes(job["rule"], config, job["wildcards"], job["threads"], n_jobs)
        limit = float(job["resources"].get("runtime", "nan"))
        ok = limit >= est
        rows.append((job["rule"], dict(key[1]), job["threads"], est, limit, ok, job["resources"]))
        if not ok:
            bad.append(job["rule"])
    head = ("rule", "wildcards", "thr", "estimate min", "limit min", "ok", "other")
    print("{:<18} {:<28} {:>3} {:>13} {:>10}  {:<3} {}".format(*head))
    for rule, wc, thr, est, limit, ok, res in rows:
        other = ", ".join(
            f"{k}={res[k]}"
            for k in ("tasks", "mpi", "gpu", "gpu_model", "mem_mb")
            if k in res and res[k] != "<TBD>"
        )
        row = (rule, str(wc), thr, f"{est:.0f}", f"{limit:.0f}", "yes" if ok else "NO", other)
        print("{:<18} {:<28} {:>3} {:>13} {:>10}  {:<3} {}".format(*row))
        rec.figure(f"{rule} {wc} estimate", est, "min")
        rec.figure(f"{rule} {wc} limit", limit, "min", ">= estimate")
    rec.data["jobs"] = [
        {"rule": r, "wildcards": w, "threads": t, "estimate_min": e, "limit_min": lim, "ok": ok}
        for r, w, t, e, lim, ok, _ in rows
    ]
    if bad:
        rec.note(f"limits below their estimates: {sorted(set(bad))}")
    rec.write(args.out)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
