"""Imported labelled frames: level of theory, parse-time checks, every tested format (real
CP2K AIMD frames), and the same quality filters and split as computed labels."""

from __future__ import annotations

import copy

import dpdata
import numpy as np
import pandas as pd
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from conftest import REPO, needs_cp2k, validated

from lpsflow.config import ConfigError, check, type_map
from lpsflow.dataset import build_dataset
from lpsflow.importing import (
    canonical_theory,
    engine_theory,
    import_labels,
    needs_virial,
    theory_differences,
    theory_label,
)
from lpsflow.store import LabelStore

CHEAP = {"functional": "PBE", "dispersion": "none", "basis": "SZV-MOLOPT-SR-GTH", "cutoff": 250}


def labelled(atoms: Atoms, energy=-100.0, forces=None, stress=True) -> Atoms:
    atoms = atoms.copy()
    forces = np.zeros((len(atoms), 3)) + 0.1 if forces is None else forces
    calc = {"energy": energy, "forces": forces}
    if stress:
        calc["stress"] = np.array([0.01, 0.02, 0.03, 0.0, 0.0, 0.001])  # eV/A^3
    atoms.calc = SinglePointCalculator(atoms, **calc)
    return atoms


def config_with(entry: dict, tmp_path, preset="cheap") -> dict:
    config = validated(
        {
            "compositions": [{"name": "LPS75", "x": 0.75, "n_atoms": 16}],
            "dft": {"preset": preset, "dispersion": "none"},
            "train": {"template": str(REPO / "config" / "deepmd-demo.json")},
            "init": {"import": [entry]},
        }
    )
    return config


def entry(path, fmt="extxyz", **extra) -> dict:
    base = {"name": "mine", "format": fmt, "path": str(path), "composition": "LPS75"}
    return {**base, "theory": dict(CHEAP), **extra}


def test_level_of_theory_is_compared_canonically():
    dft = validated({"compositions": [{"name": "a", "x": 0.75, "n_atoms": 16}]})["dft"]
    ref = engine_theory(dft)  # production: PBE+D3, DZVP, 400/50 Ry
    same = canonical_theory(
        {"functional": "pbe", "dispersion": "d3", "basis": "dzvp-molopt-sr-gth", "cutoff": 400}
    )
    assert theory_differences(same, ref) == []
    other = canonical_theory({**same, "cutoff": 250, "rel_cutoff": 60})
    assert [d.split()[0] for d in theory_differences(other, ref)] == ["cutoff", "rel_cutoff"]
    assert theory_label(ref) == "PBE+D3 DZVP-MOLOPT-SR-GTH GTH-PBE 400/50 Ry"
    assert needs_virial(REPO / "config" / "deepmd-demo.json")


def test_good_import_passes_and_adds_its_elements(tmp_path, li3ps4_8):
    frame = li3ps4_8.copy()
    frame[0].symbol = "O"  # an oxysulfide frame brings O into the type map
    write(tmp_path / "f.extxyz", [labelled(frame)], format="extxyz")
    config = config_with(entry(tmp_path / "f.extxyz"), tmp_path)
    check(config)
    assert type_map(config) == ["Li", "P", "S", "O"]


@pytest.mark.parametrize(
    "case,message",
    [
        ("missing file", "init.import[0] (mine).path: "),
        ("wrong format", "init.import[0] (mine): cannot read"),
        ("unknown element", "init.import[0] (mine): elements ['Na'] outside the type map"),
        ("no virial", "init.import[0] (mine): frames without virial"),
        ("unknown composition", "init.import[0] (mine).composition: 'LPS70'"),
        ("other level of theory", "init.import[0] (mine).theory: level of theory"),
        ("element outside explicit type_map", "init.import[0] (mine): elements ['O']"),
    ],
)
def test_bad_import_rejected_naming_the_entry(tmp_path, li3ps4_8, case, message):
    good = tmp_path / "good.extxyz"
    write(good, [labelled(li3ps4_8)], format="extxyz")
    e = entry(good)
    config = None
    if case == "missing file":
        e["path"] = str(tmp_path / "nothing.extxyz")
    elif case == "wrong format":
        e["format"] = "deepmd/hdf5"
    elif case == "unknown element":
        frame = li3ps4_8.copy()
        frame[1].symbol = "Na"
        write(tmp_path / "na.extxyz", [labelled(frame)], format="extxyz")
        e["path"] = str(tmp_path / "na.extxyz")
    elif case == "no virial":
        write(tmp_path / "nv.extxyz", [labelled(li3ps4_8, stress=False)], format="extxyz")
        e["path"] = str(tmp_path / "nv.extxyz")
    elif case == "unknown composition":
        e["composition"] = "LPS70"
    elif case == "other level of theory":
        e["theory"] = {**CHEAP, "functional": "PBESOL"}
    elif case == "element outside explicit type_map":
        frame = li3ps4_8.copy()
        frame[0].symbol = "O"
        write(tmp_path / "o.extxyz", [labelled(frame)], format="extxyz")
        e["path"] = str(tmp_path / "o.extxyz")
        config = config_with(e, tmp_path)
        config["type_map"] = ["Li", "P", "S"]
    config = config or config_with(e, tmp_path)
    with pytest.raises(ConfigError) as err:
        check(config)
    assert message in str(err.value)


def test_mixed_theory_only_when_allowed(tmp_path, li3ps4_8):
    write(tmp_path / "f.extxyz", [labelled(li3ps4_8)], format="extxyz")
    e = entry(tmp_path / "f.extxyz")  # cheap-preset labels in a production campaign
    with pytest.raises(ConfigError, match="allow_mixed_theory"):
        check(config_with(e, tmp_path, preset="production"))
    check(config_with({**e, "allow_mixed_theory": True}, tmp_path, preset="production"))


def test_imported_frames_pass_the_quality_filters(tmp_path, li3ps4_8):
    """Imported frames meet the same filters as computed ones in build_dataset."""
    moved = li3ps4_8.copy()
    moved.positions[6] += 0.1
    hot = labelled(moved, forces=np.full((8, 3), 80.0))  # above max_force 50 eV/A
    close = li3ps4_8.copy()
    close.positions[1] = close.positions[0] + [0.5, 0, 0]
    frames = [labelled(li3ps4_8), hot, labelled(close)]
    frames += [labelled(li3ps4_8, energy=-100.0 - i) for i in range(1, 5)]
    for i, f in enumerate(frames[3:]):
        f.positions[5] += 0.05 * (i + 1)
    write(tmp_path / "f.extxyz", frames, format="extxyz")
    store = LabelStore(tmp_path / "store")
    rows = import_labels(entry(tmp_path / "f.extxyz"), store)
    assert len(rows) == 7 and all(r["status"] == "ok" for r in rows)
    table = build_dataset(
        store, pd.DataFrame(rows), ["Li", "P", "S"], 0.3, tmp_path / "data", 50.0, 1.0
    ).set_index("key")
    assert table.loc[rows[1]["key"], "reason"].startswith("force 80.0")
    assert table.loc[rows[2]["key"], "reason"].startswith("atoms 0.50 A apart")
    kept = table.drop([rows[1]["key"], rows[2]["key"]])
    assert set(kept["split"]) <= {"train", "test"} and len(kept) == 5
    # the same import again is served from the store
    again = import_labels(entry(tmp_path / "f.extxyz"), store)
    assert [r["key"] for r in again] == [r["key"] for r in rows] and all(r["reused"] for r in again)


@pytest.mark.slow
@needs_cp2k()
def test_every_tested_format_gives_the_same_labels(aimd_run, tmp_path):
    """A real CP2K AIMD run read as cp2k/aimd_output, and converted to deepmd/npy,
    deepmd/hdf5 and extxyz, imports to identical labels (eV, eV/A, virial in eV)."""
    atoms, store, frames, run, dft = aimd_run
    folder = store.root / "aimd" / run["key"][:2] / run["key"]
    ref = dpdata.LabeledSystem(
        str(folder), fmt="cp2k/aimd_output", cp2k_output_name=str(folder / "cp2k.out")
    )
    assert len(ref) == 3 and "virials" in ref.data
    ref.to("deepmd/npy", str(tmp_path / "npy"))
    ref.to("deepmd/hdf5", str(tmp_path / "data.h5"))
    write(tmp_path / "data.extxyz", ref.to("ase/structure"), format="extxyz")
    sources = {
        "cp2k/aimd_output": folder,
        "deepmd/npy": tmp_path / "npy",
        "deepmd/hdf5": tmp_path / "data.h5",
        "extxyz": tmp_path / "data.extxyz",
    }
    theory = {**CHEAP, "potential": "GTH-PBE", "rel_cutoff": 40}
    imported = LabelStore(tmp_path / "store")
    keys = {}
    for fmt, path in sources.items():
        e = entry(path, fmt=fmt, name=fmt.replace("/", "_"), theory=theory)
        check(config_with(e, tmp_path))  # same level of theory as the cheap dft settings
        rows = import_labels(e, imported)
        keys[fmt] = [r["key"] for r in rows]
        assert len(rows) == 3
        for i, row in enumerate(rows):
            label = dpdata.LabeledSystem(str(imported.label_path(row["key"])), fmt="deepmd/npy")
            assert label["energies"][0] == pytest.approx(ref["energies"][i], abs=1e-5)
            assert np.allclose(label["forces"][0], ref["forces"][i], atol=1e-5)
            assert np.allclose(label["virials"][0], ref["virials"][i], atol=1e-4)
            # the AIMD labels of the same run, computed here, agree
            own = dpdata.LabeledSystem(str(store.label_path(frames[i]["key"])), fmt="deepmd/npy")
            assert label["energies"][0] == pytest.approx(own["energies"][0], abs=1e-5)
    # one frame, one key, whatever the format it came in
    assert len({tuple(k) for k in keys.values()}) == 1
    # stride keeps every n-th frame
    strided = import_labels(
        entry(folder, fmt="cp2k/aimd_output", stride=2, theory=theory), imported
    )
    assert [r["key"] for r in strided] == keys["extxyz"][::2]


def test_config_example_is_valid():
    """The commented init.import example of config/config.yaml is a valid entry."""
    text = (REPO / "config" / "config.yaml").read_text()
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("  # import:"))
    block = [lines[start]]
    for ln in lines[start + 1 :]:
        if not ln.startswith("  #   "):
            break
        block.append(ln)
    import yaml

    example = yaml.safe_load("\n".join(ln.replace("  # ", "", 1) for ln in block))
    config = copy.deepcopy(
        {"compositions": [{"name": "LPS75", "x": 0.75, "n_atoms": 16}], "init": example}
    )
    validated(config)


def test_report_shows_the_mix_of_theories(tmp_path):
    from lpsflow.report import render, table_html, theory_table

    rows = [
        ("PBE SZV-MOLOPT-SR-GTH GTH-PBE 250/40 Ry", "perturb", "LPS75", 3),
        ("PBE+D3 DZVP-MOLOPT-SR-GTH 400 Ry", "import:my_aimd", "LPS75", 5),
    ]
    pd.DataFrame(rows, columns=["theory", "source", "composition", "frames"]).to_csv(
        tmp_path / "theory.csv", index=False
    )
    table = theory_table(tmp_path / "theory.csv")
    context = {"theory": table_html(table), "n_theories": 2}
    html = render(context, "theory.html.j2")  # the report's section (included there)
    assert "mix 2 levels of theory" in html and "import:my_aimd" in html
    one = render({"theory": table_html(table.iloc[:1]), "n_theories": 1}, "theory.html.j2")
    assert "share one level of theory" in one and "levels of theory (imports" not in one
