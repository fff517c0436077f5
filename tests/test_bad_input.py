"""Invalid configurations are rejected before any job starts, naming the key (table-driven)."""

from __future__ import annotations

import copy

import pytest
from conftest import run_workflow, shipped


def comp(**change):
    def edit(c):
        c["compositions"][0].update(change)

    return edit


def section(name, **change):
    def edit(c):
        c.setdefault(name, {}).update(change)

    return edit


def dft(**change):
    return section("dft", **change)


CASES = {  # name: (edit of the shipped config, text the error must contain)
    "x above range": (comp(x=1.4), "['compositions'][0]['x']"),
    "x below range": (comp(x=0.3), "['compositions'][0]['x']"),
    "unknown halide": (comp(halide="F", halide_fraction=0.1), "['halide']"),
    "halide share without halide": (comp(halide_fraction=0.1), "compositions[0] (LPS75).halide"),
    "oxygen fraction too large": (comp(oxygen_fraction=0.9), "['oxygen_fraction']"),
    "negative atom count": (comp(n_atoms=-4), "['n_atoms']"),
    "negative density": (comp(density=-1.0), "['density']"),
    "no replicas": (comp(replicas=0), "['replicas']"),
    "both x and structure": (comp(structure="a.cif"), "exactly one of 'x'"),
    "missing structure file": (
        lambda c: c["compositions"].append({"name": "xtal", "structure": "no.cif", "n_atoms": 64}),
        "compositions[2] (xtal).structure",
    ),
    "duplicate names": (comp(name="LPS70"), "duplicate name(s) ['LPS70']"),
    "unknown element in type_map": (lambda c: c.update(type_map=["Li", "Na"]), "['type_map']"),
    "type_map missing an element": (lambda c: c.update(type_map=["Li", "S"]), "type_map: misses"),
    "trust_lo >= trust_hi": (section("select", trust_lo=0.5, trust_hi=0.3), "select.trust_lo"),
    "unknown trust mode": (section("select", trust_mode="loose"), "['trust_mode']"),
    "one model": (section("train", n_models=1), "['n_models']"),
    "missing training template": (section("train", template="none.json"), "train.template"),
    "empty schedule": (section("explore", schedule=[]), "['schedule']"),
    "negative steps": (section("explore", steps=[-5]), "['steps']"),
    "zero time step": (section("explore", timestep_fs=0), "['timestep_fs']"),
    "no iterations": (section("loop", max_iterations=0), "['max_iterations']"),
    "accurate ratio above 1": (section("loop", accurate_ratio=1.5), "['accurate_ratio']"),
    "unknown DFT engine": (dft(engine="vasp"), "['engine']"),
    "unknown dispersion": (dft(dispersion="D4"), "['dispersion']"),
    "missing CP2K basis file": (dft(basis_file="NO_SUCH_BASIS"), "dft.basis_file"),
    "misspelt top-level key": (lambda c: c.update(dtf={}), "'dtf' was unexpected"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_invalid_config_rejected_before_any_job(tmp_path, name):
    edit, expected = CASES[name]
    config = copy.deepcopy(shipped("config.yaml"))
    edit(config)
    proc = run_workflow(tmp_path, config, check=False)
    assert proc.returncode != 0
    assert expected in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "results" / "sample").exists()


def test_unwritable_results_folder(tmp_path):
    (tmp_path / "results").write_text("a file where the results folder should be")
    proc = run_workflow(tmp_path, shipped("config.yaml"), check=False)
    assert proc.returncode != 0 and "results folder results is not writable" in proc.stderr


def test_yaml_syntax_error(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("compositions:\n  - name: [unclosed\n")
    proc = run_workflow(tmp_path, None, check=False)
    assert proc.returncode != 0 and "config.yaml" in proc.stderr
    assert "unclosed" in proc.stderr or "flow sequence" in proc.stderr
