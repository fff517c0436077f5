"""dft.overrides (merged into CP2K's &DFT section) and a basis set per element (dft.basis)."""

import re

import pytest
from conftest import needs_cp2k, validated

from lpsflow.config import ConfigError, check, check_dft_overrides
from lpsflow.dft import get_engine
from lpsflow.dft.cp2k import input_text
from lpsflow.dft.cp2k_input import OverrideError, apply_overrides, parse, render
from lpsflow.importing import engine_theory, theory_label
from lpsflow.settings import Settings
from lpsflow.store import frame_key

BASE_COMPOSITION = {"compositions": [{"name": "LPS75", "x": 0.75, "n_atoms": 48}]}
PER_ELEMENT = {"Li": "SZV-MOLOPT-SR-GTH", "P": "SZV-MOLOPT-SR-GTH", "S": "DZVP-MOLOPT-SR-GTH"}


def test_no_overrides_leave_the_input_as_it_was(cheap_dft, li3ps4_8):
    text = input_text(li3ps4_8, cheap_dft)
    assert render(parse(text)) + "\n" == text  # the tree holds everything
    assert input_text(li3ps4_8, {**cheap_dft, "overrides": {}}) == text


def test_overrides_replace_add_and_remove(cheap_dft, li3ps4_8):
    overrides = {
        "SCF": {"EPS_SCF": 1e-7, "SMEAR": None, "OUTER_SCF": {"MAX_SCF": 5, "EPS_SCF": 1e-6}},
        "mgrid": {"ngrids": 3},  # CP2K names are case-insensitive
        "XC": {"XC_FUNCTIONAL": {"_": "PBE0"}},
        "QS": {"METHOD": "GPW"},
    }
    text = input_text(li3ps4_8, {**cheap_dft, "overrides": overrides})
    tree = parse(text)
    dft = tree.find("FORCE_EVAL").find("DFT")
    scf = dft.find("SCF")
    assert scf.find("EPS_SCF")[1] == "1e-07"  # replaced in place
    assert scf.find("SMEAR") is None  # removed
    assert scf.find("OUTER_SCF").find("MAX_SCF")[1] == "5"  # added section
    assert dft.find("MGRID").find("NGRIDS")[1] == "3"
    assert dft.find("MGRID").find("CUTOFF")[1] == str(cheap_dft["cutoff"])  # kept
    assert dft.find("XC").find("XC_FUNCTIONAL").param == "PBE0"
    assert dft.find("QS").find("EPS_DEFAULT") is not None and dft.find("QS").find("METHOD")
    # what the workflow reads back is untouched
    assert "RUN_TYPE ENERGY_FORCE" in text and "STRESS_TENSOR ANALYTICAL" in text
    assert re.search(r"&FORCES ON\s+&END FORCES", text)


@pytest.mark.parametrize(
    "overrides,key",
    [
        ({"SCF": {"eps scf": 1}}, r"dft\.overrides\.SCF\.eps scf"),
        (
            {"BASIS_SET_FILE_NAME": "x"},
            r"dft\.overrides\.BASIS_SET_FILE_NAME: set by dft\.basis_file",
        ),
        ({"SCF": {"_": [1, 2]}}, r"dft\.overrides\.SCF\._"),
        ({"SCF": {"OT": [{"A": 1}]}}, r"dft\.overrides\.SCF\.OT"),
    ],
)
def test_malformed_overrides_are_rejected_naming_the_key(overrides, key, cheap_dft, li3ps4_8):
    with pytest.raises(OverrideError, match=key):
        apply_overrides(input_text(li3ps4_8, cheap_dft), overrides)
    config = validated({**BASE_COMPOSITION, "dft": {"overrides": overrides}})
    with pytest.raises(ConfigError, match=key):
        check(config)


def test_basis_per_element_in_kinds_store_key_and_theory(cheap_dft, li3ps4_8):
    dft = {**cheap_dft, "basis": PER_ELEMENT}
    text = input_text(li3ps4_8, dft)
    for el, basis in PER_ELEMENT.items():
        assert re.search(rf"&KIND {el}\s+BASIS_SET {basis}\s", text)
    plain = get_engine("cp2k", cheap_dft)
    per_element = get_engine("cp2k", dft)
    tuned = get_engine("cp2k", {**cheap_dft, "overrides": {"MGRID": {"NGRIDS": 3}}})
    # no overrides: the physics (store key) is what it always was; any change is a new label
    assert "overrides" not in plain.physics()
    keys = {frame_key(li3ps4_8, e.physics()) for e in (plain, per_element, tuned)}
    assert len(keys) == 3
    # the level of theory follows: the basis of each element, and the overrides
    label = theory_label(engine_theory({**dft, "overrides": {"MGRID": {"NGRIDS": 3}}}))
    assert "LI:SZV-MOLOPT-SR-GTH P:SZV-MOLOPT-SR-GTH S:DZVP-MOLOPT-SR-GTH" in label
    assert "MGRID/NGRIDS=3" in label
    assert "MGRID" not in theory_label(engine_theory(cheap_dft))


def test_config_takes_a_basis_per_element_covering_the_type_map():
    config = validated({**BASE_COMPOSITION, "dft": {"basis": PER_ELEMENT}})
    check(config)
    science = Settings.from_config(config).dft.science
    assert science.physics["basis"] == PER_ELEMENT and "overrides" not in science.physics
    short = validated({**BASE_COMPOSITION, "dft": {"basis": {"Li": "SZV-MOLOPT-SR-GTH"}}})
    with pytest.raises(ConfigError, match=r"dft\.basis: no basis set for \['P', 'S'\]"):
        check(short)
    tuned = validated({**BASE_COMPOSITION, "dft": {"overrides": {"SCF": {"EPS_SCF": 1e-7}}}})
    assert Settings.from_config(tuned).dft.science.physics["overrides"] == {
        "SCF": {"EPS_SCF": 1e-7}
    }


@pytest.mark.slow
@needs_cp2k()
def test_cp2k_rejects_an_unknown_override_naming_the_key():
    config = validated(
        {**BASE_COMPOSITION, "dft": {"overrides": {"SCF": {"EPS_SCF": 1e-7, "FOO_BAR": 1}}}}
    )
    with pytest.raises(ConfigError, match=r"^dft\.overrides\.SCF\.FOO_BAR: .*FOO_BAR"):
        check_dft_overrides(config)
    config["dft"]["overrides"] = {"SCF": {"MAX_SCF": "many"}}  # a wrong value: CP2K's line
    with pytest.raises(ConfigError, match=r"^dft\.overrides\.SCF\.MAX_SCF: "):
        check_dft_overrides(config)
    config["dft"]["overrides"] = {"SCF": {"EPS_SCF": 1e-7}, "MGRID": {"NGRIDS": 3}}
    assert check_dft_overrides(config) == ""


@pytest.mark.slow
@needs_cp2k()
def test_overrides_and_basis_per_element_reach_cp2k(cheap_dft, li3ps4_8, tmp_path):
    dft = {**cheap_dft, "basis": PER_ELEMENT, "overrides": {"MGRID": {"NGRIDS": 3}}}
    outcome = get_engine("cp2k", dft).run(li3ps4_8, tmp_path, attempt=0)
    assert outcome.reason == "" and outcome.system is not None  # a label
    out = (tmp_path / "cp2k.out").read_text()
    assert re.search(r"QS\| Number of grid levels:\s+3\n", out)  # CP2K's default is 4
    kinds = re.findall(r"Atomic kind: (\w+).*?Orbital Basis Set\s+(\S+)", out, re.S)
    assert dict(kinds) == PER_ELEMENT
