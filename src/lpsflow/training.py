"""DeePMD-kit ensemble training (TensorFlow backend): input generation, sel, train, freeze.

The DeePMD input is a template (a JSON file named in the config); this module fills in
what the campaign decides: type map, ``sel`` from neighbour statistics of the data, the
member's seeds, steps, floating-point precision and data systems.
"""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

#: network precisions a campaign may choose (``train.precision``)
PRECISIONS = ("float64", "float32")


def dp_env(threads: int) -> dict:
    """Environment for DeePMD-kit and LAMMPS processes using ``threads`` cores."""
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS=str(threads),
        DP_INTRA_OP_PARALLELISM_THREADS=str(threads),
        DP_INTER_OP_PARALLELISM_THREADS="1",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    return env


def python_tool(name: str) -> str:
    """Executable ``name`` installed beside this Python (a venv's bin), else from PATH."""
    sibling = Path(sys.executable).with_name(name)
    return str(sibling) if sibling.exists() else (shutil.which(name) or name)


def system_dirs(root: str | Path) -> list[str]:
    """deepmd/npy system folders (those holding type.raw) under ``root``, sorted."""
    return sorted(str(p.parent) for p in Path(root).rglob("type.raw"))


def neighbor_sel(systems: list[str], rcut: float, type_map: list[str], factor: float) -> list[int]:
    """``sel`` per type: the data's largest neighbour count within ``rcut`` times ``factor``.

    Rounded up to a multiple of 4 (at least 4), as DeePMD's own ``auto`` rule does.
    """
    from deepmd.tf.utils.neighbor_stat import NeighborStat
    from deepmd.utils.data_system import DeepmdDataSystem

    data = DeepmdDataSystem(
        systems=systems, batch_size=1, test_size=1, rcut=rcut, type_map=type_map
    )
    data.get_batch()
    _, max_nbor = NeighborStat(len(type_map), rcut).get_stat(data)
    return [max(4, int(math.ceil(n * factor / 4.0)) * 4) for n in np.atleast_1d(max_nbor)]


def deepmd_input(
    template: dict,
    *,
    type_map: list[str],
    sel: list[int],
    seed: int,
    steps: int,
    train_systems: list[str],
    valid_systems: list[str],
    precision: str | None = None,
) -> dict:
    """The template filled in for one ensemble member (seeds differ per member).

    ``precision`` ("float64" or "float32"; :data:`PRECISIONS`) sets the floating-point
    precision of the descriptor and fitting networks (DeePMD's ``precision`` keys); None
    keeps what the template says (DeePMD's default there is float64).
    """
    if precision is not None and precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: expected one of {PRECISIONS}")
    inp = copy.deepcopy(template)
    model = inp["model"]
    model["type_map"] = list(type_map)
    model["descriptor"]["sel"] = list(sel)
    model["descriptor"]["seed"] = seed
    model["fitting_net"]["seed"] = seed + 1
    if precision is not None:
        model["descriptor"]["precision"] = precision
        model["fitting_net"]["precision"] = precision
    training = inp["training"]
    training["seed"] = seed + 2
    training["numb_steps"] = int(steps)
    training["training_data"] = {**training.get("training_data", {}), "systems": train_systems}
    if valid_systems:
        training["validation_data"] = {
            **training.get("validation_data", {}),
            "systems": valid_systems,
            "batch_size": 1,
            "numb_btch": 1,
        }
    else:
        training.pop("validation_data", None)
    lr = inp.setdefault("learning_rate", {})
    lr["decay_steps"] = max(1, min(int(lr.get("decay_steps", 5000)), steps // 20))
    return inp


def run_dp(args: list[str], cwd: Path, threads: int, log) -> None:
    """Run ``dp --tf ARGS`` in ``cwd``; its output goes to the open file ``log``."""
    subprocess.run(
        [python_tool("dp"), "--tf", *args],
        cwd=cwd,
        env=dp_env(threads),
        stdout=log,
        stderr=log,
        check=True,
    )


def train_member(
    inp: dict, workdir: Path, threads: int, log, init_graph: str | None = None
) -> Path:
    """Train and freeze one model in ``workdir``; returns the frozen graph.

    With ``init_graph`` the model starts from that frozen model's weights (DP-GEN's
    ``training_init_model``); otherwise from scratch. A ``model.ckpt`` left by an
    interrupted run is restarted from rather than thrown away.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(inp, indent=2)
    previous = workdir / "input.json"
    same_job = previous.exists() and previous.read_text() == text
    args = ["train", "input.json"]
    if same_job and (workdir / "checkpoint").exists():
        args += ["--restart", "model.ckpt"]  # the same training was interrupted: go on
    else:
        _remove_checkpoints(workdir)
        (workdir / "lcurve.out").unlink(missing_ok=True)
        if init_graph:
            args += ["--init-frz-model", str(Path(init_graph).resolve())]
    previous.write_text(text)
    run_dp(args, workdir, threads, log)
    run_dp(["freeze", "-o", "graph.pb"], workdir, threads, log)
    _remove_checkpoints(workdir)  # only needed to resume an interrupted training
    return workdir / "graph.pb"


def _remove_checkpoints(workdir: Path) -> None:
    for path in [*workdir.glob("model.ckpt*"), workdir / "checkpoint"]:
        path.unlink(missing_ok=True)


def compress(graph: Path, output: Path, threads: int, log) -> None:
    """``dp --tf compress`` in a scratch folder beside ``output``; only the model is kept."""
    scratch = output.parent / f".compress_{output.stem}"
    scratch.mkdir(parents=True, exist_ok=True)
    run_dp(["compress", "-i", str(graph.resolve()), "-o", "compressed.pb"], scratch, threads, log)
    os.replace(scratch / "compressed.pb", output)
    shutil.rmtree(scratch, ignore_errors=True)
