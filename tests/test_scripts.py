"""Every setting a rule passes in ``params:`` reaches the library call of its script.

The rules are read from the real workflow (Snakemake's API parses the Snakefile), so a
param added to a rule is covered without touching this test. Each script runs with runpy
and a stand-in ``snakemake`` object; every lpsflow function and every file reader or writer
it calls is replaced by a recorder. Then each leaf value of the params (a number, a string,
an entry of a settings dict) is changed in turn: the recorded calls must change, else the
script dropped that setting on the way (as build_dataset.py once dropped max_force).
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import re
import runpy
from pathlib import Path
from unittest import mock

import pytest
from ase import Atoms
from conftest import REPO, parsed_workflow, tiny_campaign

SCRIPTS = REPO / "workflow" / "scripts"
WILDCARDS = {"comp": "LPS75", "replica": "0", "frame": "0", "iter": "001", "model": "0"}
WILDCARDS.update(temp="800", imp="mine", rate="90", phase="beta-Li3PS4")
#: lpsflow modules whose functions and classes the scripts call (settings stay real)
LIBRARY = [
    "aimd",
    "amorphous",
    "dataset",
    "dft",
    "dft.mlip",
    "evaluation",
    "exploration",
    "glass_density",
    "glass_structure",
    "glass_transition",
    "li_environment",
    "importing",
    "labeling",
    "lammps",
    "lammps_output",
    "loop",
    "perturb",
    "production",
    "report",
    "selection",
    "store",
    "structures",
    "teacher",
    "training",
    "transport",
]
#: readers, writers and file moves outside lpsflow
EXTERNAL = [
    ("ase.io", "read"),
    ("ase.io", "write"),
    ("pandas", "read_csv"),
    ("pandas", "concat"),
    ("pandas", "DataFrame"),
    ("json", "load"),
    ("json", "dump"),
    ("shutil", "copy"),
    ("shutil", "copytree"),
    ("shutil", "rmtree"),
    ("shutil", "move"),
    ("dpdata", "LabeledSystem"),
    ("dpdata", "MultiSystems"),
]
#: inputs that come from a checkpoint walk (unpack) cannot be listed without a DAG
UNPACKED = {
    "summarize_iterations": ["rmse", "ratios", "frames", "datasets", "verdicts", "labels"],
    "export_model": ["models", "data"],
    "teacher_test_errors": ["models"],
}
#: params computed from the finished checkpoints, with a value they can take
DAG_PARAMS = {"iteration": 1}
#: params of an init.import entry (the tiny campaign imports nothing), with values they can take
DAG_PARAMS.update(
    format="deepmd/npy",
    composition="LPS75",
    stride=1,
    cp2k_output="",
    theory={"functional": "PBE"},
    allow_mixed_theory=False,
)
#: what a recorder returns where a script unpacks or writes the result
RETURNS = {
    "transport.msd_from_dump": lambda: (mock.MagicMock(), mock.MagicMock()),
    "selection.select_iteration": lambda: tuple(mock.MagicMock() for _ in range(4)),
    "exploration.restart_frame": lambda: (mock.MagicMock(), "last trusted frame"),
    "exploration.check_run": lambda: {"status": "ok", "records": 1},
    "production.run_status": lambda: {"status": "ok", "frames": 1, "reason": ""},
    "production.run_npt_or_fallback": lambda: (None, 0),
    "aimd.aimd_frames": lambda: ([], mock.MagicMock()),
    "production.npt_summary": lambda: {"nvt_volume_A3": 1000.0},
    "report.render": lambda: "<html></html>",
    "report.render_checked": lambda: ("<html></html>", []),
    "transport.fit_diffusion": lambda: {"D_cm2_s": 1e-6, "D_err_cm2_s": 1e-7},
    "production.deviation_summary": lambda: {"untrusted_fraction": 0.0},
}
#: input variants a rule's params depend on (train_model: from scratch or from weights)
VARIANTS = {"train_model": [{}, {"init": []}]}


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    """(rule name, script path, params with wildcards applied, input names, output) per rule,
    of a CP2K campaign and (the rules only it includes) of a teacher-labelled one."""
    teacher = tiny_campaign()
    teacher["dft"]["engine"] = "mlip"
    out = {}
    for config in (tiny_campaign(), teacher):
        _parse_rules(config, tmp_path_factory.mktemp("parse"), out)
    return out


def _parse_rules(config: dict, work, out: dict) -> None:
    with parsed_workflow(config, work) as workflow:
        for rule in workflow.rules:
            if not rule.script or rule.name in out:
                continue
            params = {}
            for name, value in rule.params._allitems():
                if name is None:
                    continue
                if callable(value):
                    try:
                        value = value(mock.Mock(**WILDCARDS))
                    except Exception:
                        value = DAG_PARAMS[name]
                params[name] = value
            inputs = {n: v for n, v in rule.input._allitems() if n is not None}
            for name in UNPACKED.get(rule.name, []):
                inputs[name] = []
            outputs = {n: v for n, v in rule.output._allitems() if n is not None}
            out[rule.name] = {
                "script": (REPO / "workflow" / "rules" / rule.script).resolve(),
                "params": params,
                "input": inputs,
                "output": outputs,
                "config": copy.deepcopy(workflow.config),
            }


class Names(dict):
    """Snakemake's named lists as far as the scripts use them (attributes, [name], iter)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self):
        return iter(self.values())


def _paths(spec: dict, root: Path) -> Names:
    out = Names()
    for name, value in spec.items():
        if isinstance(value, (list, tuple)):
            out[name] = [str(root / f"{name}_{i}") for i in range(len(value))]
        elif callable(value):
            out[name] = [str(root / f"{name}_0"), str(root / f"{name}_1")]
        else:
            out[name] = str(root / name)
    return out


def _normal(value) -> str:
    """A call argument as text, stable across runs (mock ids and tmp paths removed)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = (type(value).__name__, dataclasses.asdict(value))
    text = repr(value)
    return re.sub(r" id='\d+'", "", text)


class Recorder:
    def __init__(self):
        self.calls: list[str] = []

    def fake(self, name: str):
        def call(*args, **kwargs):
            self.calls.append(f"{name}({_normal(args)}, {_normal(sorted(kwargs.items()))})")
            if name == "ase.io.read":  # a real small cell: scripts measure it
                return Atoms("Li3PS4", positions=[[i, i, i] for i in range(8)], cell=[9] * 3)
            return RETURNS.get(name, lambda: mock.MagicMock(name=name))()

        return call


def _run(rule: dict, params: dict, tmp_path: Path, variant: dict) -> list[str]:
    recorder = Recorder()
    patches = []
    for module in LIBRARY:
        mod = importlib.import_module(f"lpsflow.{module}")
        for name, obj in vars(mod).items():
            own = getattr(obj, "__module__", "") == mod.__name__
            if own and (inspect.isfunction(obj) or inspect.isclass(obj)):
                if dataclasses.is_dataclass(obj) or name == "to_file":
                    continue
                patches.append(mock.patch.object(mod, name, recorder.fake(f"{module}.{name}")))
    for module, name in EXTERNAL:
        mod = importlib.import_module(module)
        patches.append(mock.patch.object(mod, name, recorder.fake(f"{module}.{name}")))
    smk = mock.Mock()
    smk.params = Names(params)
    smk.input = _paths(rule["input"], tmp_path / "in")
    smk.input.update(variant)
    smk.output = _paths(rule["output"], tmp_path / "out")
    smk.wildcards = Names(WILDCARDS)
    smk.threads = 1
    smk.log = [str(tmp_path / "job.log")]
    smk.config = rule["config"]
    fake_open = mock.mock_open(read_data="{}")
    (tmp_path / "out").mkdir(exist_ok=True)
    for p in patches:
        p.start()
    try:
        runpy.run_path(str(rule["script"]), init_globals={"snakemake": smk, "open": fake_open})
    finally:
        for p in reversed(patches):
            p.stop()
    return recorder.calls


def _leaves(value, path=()):
    """(path, value) of every scalar inside ``value``."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list) and value and not isinstance(value[0], dict):
        yield from _leaves(value[0], (*path, 0))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path, value


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 3
    if isinstance(value, float):
        return value * 1.5 + 0.1
    if value is None:
        return 0.5
    if value == "absolute":
        return "relative"
    if value == "fps":
        return "random"
    return f"{value}_changed"


def _with(params: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(params)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


def test_every_script_is_a_rule_script(rules):
    used = {r["script"].name for r in rules.values()}
    assert used == {p.name for p in SCRIPTS.glob("*.py")}


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.py")))
def test_every_param_reaches_the_library(script, rules, tmp_path):
    users = {n: r for n, r in rules.items() if r["script"].name == script}
    assert users, f"no rule runs {script}"
    for name, rule in users.items():
        if not rule["params"]:
            continue  # nothing to forward: the script reads only its inputs
        variants = VARIANTS.get(name, [{}])
        base = [_run(rule, rule["params"], tmp_path, v) for v in variants]
        assert all(base), f"{script} ({name}) calls no library function"
        for key, params in rule["params"].items():
            for path, value in _leaves({key: params}):
                new = _with(rule["params"], path, _changed(value))
                changed = [_run(rule, new, tmp_path, v) for v in variants]
                where = ".".join(str(p) for p in path)
                assert changed != base, f"rule {name}: param {where} does not reach the library"
