"""envs/*.yaml list every package the rules' scripts import (statically, through lpsflow)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

SRC = REPO / "src"
#: import name -> package name in the conda environments
PACKAGES = {
    "ase": "ase",
    "chgnet": "chgnet",
    "cp2kdata": "cp2kdata",
    "deepmd": "deepmd-kit",
    "dpdata": "dpdata",
    "jinja2": "jinja2",
    "matplotlib": "matplotlib",
    "MDAnalysis": "mdanalysis",
    "numpy": "numpy",
    "pandas": "pandas",
    "scipy": "scipy",
    "tidynamics": "tidynamics",
    "torch": "pytorch",  # conda-forge name (CPU build in envs/cp2k.yaml)
    "yaml": "pyyaml",
}


def _names(nodes) -> set[str]:
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def imports(path: Path, functions: set[str] = frozenset()) -> set[str]:
    """Modules ``path`` imports when loaded (outside functions and classes), plus those
    imported inside ``functions`` (the ones a caller uses; lazy imports of heavy packages)."""
    tree = ast.parse(path.read_text())
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    inner = {id(n) for d in tree.body if isinstance(d, defs) for n in ast.walk(d)}
    names = _names(n for n in ast.walk(tree) if id(n) not in inner)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in functions:
            names |= _names(ast.walk(node))
    return names


def module_file(name: str) -> Path | None:
    parts = name.split(".")
    for candidate in (SRC.joinpath(*parts).with_suffix(".py"), SRC.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate
    return None


def third_party(script: Path) -> set[str]:
    """Top-level third-party packages ``script`` reaches, following lpsflow's own imports."""
    todo, seen, found = [(script, frozenset())], set(), set()
    while todo:
        path, functions = todo.pop()
        if (path, functions) in seen:
            continue
        seen.add((path, functions))
        for name in imports(path, functions):
            top = name.split(".")[0]
            if top == "lpsflow":
                target = module_file(name)
                if target:
                    todo.append((target, frozenset()))
                parent = module_file(name.rsplit(".", 1)[0])  # from lpsflow.x import f
                if parent and not target:
                    todo.append((parent, frozenset({name.rsplit(".", 1)[1]})))
            elif top not in sys.stdlib_module_names:
                found.add(top)
    return found


def env_packages(env: Path) -> set[str]:
    spec = yaml.safe_load(env.read_text())
    names = set()
    for dep in spec["dependencies"]:
        for item in dep["pip"] if isinstance(dep, dict) else [dep]:
            names.add(re.split(r"[<>=!\s\[]", item, maxsplit=1)[0].lower())
    return names


def rule_envs() -> list[tuple[str, str, str]]:
    """(rule, script, env) of every rule with a script, from the rules files."""
    out = []
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=(?:rule|checkpoint) \w+:)", smk.read_text()):
            name = re.match(r"(?:rule|checkpoint) (\w+):", block)
            script = re.search(r"script:\s*\n\s*\"\.\./scripts/([\w.]+)\"", block)
            env = re.search(r"conda:\s*\n\s*\"\.\./\.\./envs/([\w.]+)\"", block)
            if name and script:
                assert env, f"rule {name.group(1)} has no conda environment"
                out.append((name.group(1), script.group(1), env.group(1)))
    return out


def test_rules_found():
    found = {script for _, script, _ in rule_envs()}
    assert found == {p.name for p in (REPO / "workflow" / "scripts").glob("*.py")}


@pytest.mark.parametrize("rule,script,env", rule_envs())
def test_env_lists_every_import(rule, script, env):
    needed = third_party(REPO / "workflow" / "scripts" / script)
    unknown = needed - set(PACKAGES)
    assert not unknown, f"{script} imports {unknown}: add them to PACKAGES and envs/"
    have = env_packages(REPO / "envs" / env)
    missing = {PACKAGES[n] for n in needed} - have
    assert not missing, f"rule {rule} ({script}) needs {sorted(missing)} in envs/{env}"


def test_gpu_env_is_the_deepmd_env_with_the_cuda_build():
    """envs/deepmd-gpu.yaml: the packages of envs/deepmd.yaml, DeePMD-kit pinned to
    conda-forge's CUDA build (build string cuda*), and the same post-deploy step."""
    cpu = yaml.safe_load((REPO / "envs" / "deepmd.yaml").read_text())
    gpu = yaml.safe_load((REPO / "envs" / "deepmd-gpu.yaml").read_text())
    assert gpu["channels"] == cpu["channels"]

    def name(spec: str) -> str:
        return re.split(r"[=<>\[ ]", spec, maxsplit=1)[0]

    assert {name(s) for s in gpu["dependencies"]} == {name(s) for s in cpu["dependencies"]}
    deepmd = next(s for s in gpu["dependencies"] if name(s) == "deepmd-kit")
    assert "build='*cuda*'" in deepmd
    post = REPO / "envs" / "deepmd-gpu.post-deploy.sh"
    assert post.read_text() == (REPO / "envs" / "deepmd.post-deploy.sh").read_text()
