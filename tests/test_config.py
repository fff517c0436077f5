import pytest
import yaml
from conftest import REPO, validated
from snakemake.exceptions import WorkflowError

from lpsflow.config import ConfigError, check, coverage_warnings, n_frames, type_map
from lpsflow.dft import resolve_dft

BASE = {"compositions": [{"name": "LPS75", "x": 0.75, "n_atoms": 48}]}


def test_shipped_configs_validate_and_pass_checks():
    for name in ("config.yaml", "demo.yaml", "demo-cp2k.yaml", "validation.yaml"):
        config = validated(yaml.safe_load((REPO / "config" / name).read_text()))
        check(config)


def _explore(schedule, **select):
    return validated(
        {
            **BASE,
            "explore": {"schedule": schedule},
            "select": select,
            "production": {"temperatures": [600, 800], "npt_steps": 1000, "melt_temperature": 700},
        }
    )


def test_coverage_warnings_name_what_the_exploration_leaves_out():
    nvt = [{"ensemble": "nvt", "temperature": 900}]
    assert "no NPT entry" in " ".join(coverage_warnings(_explore(nvt)))
    low = nvt + [{"ensemble": "npt", "temperature": 600, "pressures": [1.0]}]
    out = coverage_warnings(_explore(low, trust_lo_v=0.02, trust_hi_v=1.0))
    assert len(out) == 1 and "up to 600 K" in out[0] and "800 K" in out[0]
    ramp = nvt + [{"ensemble": "npt", "temperature": [1200, 300], "pressures": [1.0]}]
    assert coverage_warnings(_explore(ramp, trust_lo_v=0.02, trust_hi_v=1.0)) == []
    assert "trust_lo_v" in " ".join(coverage_warnings(_explore(ramp)))
    hot_melt = _explore(
        low + [{"ensemble": "npt", "temperature": 800}], trust_lo_v=0.02, trust_hi_v=1
    )
    assert coverage_warnings(hot_melt) == []
    hot_melt["production"]["melt_temperature"] = 1200  # the melt-quench is NPT too
    assert "1200 K" in coverage_warnings(hot_melt)[0]
    hot_melt["production"]["npt_steps"] = 0  # NVT transport runs: only the melt counts
    assert "up to 800 K" in coverage_warnings(hot_melt)[0]
    hot_melt["production"]["melt_temperature"] = 700
    assert coverage_warnings(hot_melt) == []


def test_defaults_filled():
    config = validated(BASE)
    comp = config["compositions"][0]
    assert comp["density"] == 1.9 and comp["replicas"] == 1
    assert config["dft"]["basis"] == "DZVP-MOLOPT-SR-GTH" and config["dft"]["scf"]["max_scf"] == 100
    assert config["init"]["n_perturb"] == 5


def test_cheap_preset_overrides_basis_and_cutoff():
    dft = resolve_dft(validated({**BASE, "dft": {"preset": "cheap"}})["dft"])
    assert (dft["basis"], dft["cutoff"]) == ("SZV-MOLOPT-SR-GTH", 250)


def test_type_map_in_fixed_order():
    config = validated(
        {
            "compositions": [
                {"name": "a", "x": 0.75, "n_atoms": 48, "halide": "I", "halide_fraction": 0.1},
                {"name": "b", "x": 0.7, "n_atoms": 42, "oxygen_fraction": 0.1},
            ]
        }
    )
    assert type_map(config) == ["Li", "P", "S", "O", "I"]
    assert type_map(validated(BASE)) == ["Li", "P", "S"]


def test_frames():
    config = validated({**BASE, "init": {"n_perturb": 7}})
    config["compositions"][0]["replicas"] = 2
    assert n_frames(config, config["compositions"][0]) == 14


@pytest.mark.parametrize(
    "change,key",
    [
        ({"x": 1.4}, "x"),
        ({"x": 0.3}, "x"),
        ({"n_atoms": -4}, "n_atoms"),
        ({"density": -1.0}, "density"),
        ({"halide": "F", "halide_fraction": 0.1}, "halide"),
        ({"name": "bad name"}, "name"),
    ],
)
def test_schema_rejects_bad_composition(change, key):
    config = {"compositions": [{**BASE["compositions"][0], **change}]}
    with pytest.raises(WorkflowError) as err:
        validated(config)
    assert f"On instance['compositions'][0]['{key}']" in str(err.value)


def test_explicit_speciation_passes_checks():
    config = {"compositions": [{"name": "a", "x": 0.75, "n_atoms": 48}]}
    config["compositions"][0]["speciation"] = {"PS4": 0.5, "P2S7": 0.25, "P2S6_hypo": 0.25}
    check(validated(config))


@pytest.mark.parametrize(
    "config,key",
    [
        ({"compositions": [BASE["compositions"][0]] * 2}, "duplicate"),
        ({"compositions": [{"name": "a", "n_atoms": 48}]}, "exactly one of 'x'"),
        (
            {"compositions": [{"name": "a", "x": 0.7, "n_atoms": 48, "halide_fraction": 0.1}]},
            "halide",
        ),
        ({**BASE, "type_map": ["Li", "S"]}, "type_map"),
        ({**BASE, "type_map": ["S", "P", "Li"]}, "type_map"),
        (
            {"compositions": [{"name": "a", "structure": "/nonexistent.cif", "n_atoms": 48}]},
            "structure",
        ),
        ({"compositions": [{"name": "a", "x": 0.61, "n_atoms": 10}]}, "n_atoms"),
        (
            {"compositions": [{"name": "a", "x": 0.6, "n_atoms": 48, "speciation": {"PS4": 1}}]},
            r"compositions\[0\] \(a\)\.speciation: .*more S",
        ),
        (
            {"compositions": [{"name": "a", "x": 0.75, "n_atoms": 48, "speciation": {"PS4": 0.6}}]},
            r"\.speciation: fractions of P sum to 0.6",
        ),
        (
            {
                "compositions": [
                    {"name": "a", "structure": "x.cif", "n_atoms": 48, "speciation": {"PS4": 1}}
                ]
            },
            "speciation",
        ),
        (  # 6 all-atom frames: the collective conductivity fit would fail after the MD
            {**BASE, "production": {"steps": 5000, "dump_all_every": 1000}},
            r"production\.dump_all_every: .* 6 frames .*dump_all_every <= 333",
        ),
        ({**BASE, "production": {"steps": 200, "dump_every": 50}}, r"production\.dump_every: "),
        (
            {**BASE, "dft": {"engine": "mlip"}, "teacher_md": {"steps": 100}},
            r"teacher_md\.steps: 100 steps recorded every 100 give 2 frames",
        ),
    ],
)
def test_checks_reject_cross_key_errors(config, key):
    with pytest.raises(ConfigError, match=key):
        check(validated(config))


@pytest.mark.parametrize("frames", [2, 6, 14, 15, 16, 21, 101])
def test_frame_check_agrees_with_the_analysis(frames):
    """The start-up check passes exactly the trajectories whose MSD fit works."""
    import numpy as np

    from lpsflow.config import check_fit_frames, recorded_frames
    from lpsflow.transport import tracer_msd

    positions = np.cumsum(np.random.default_rng(0).normal(size=(frames, 4, 3)), axis=0)
    try:
        tracer_msd(positions, 0.1)
        fits = True
    except ValueError:
        fits = False
    steps = 10 * (frames - 1)
    prod = {"steps": steps, "dump_every": 10, "dump_all_every": 10}
    config = validated({**BASE, "production": prod})
    assert recorded_frames(steps, 10) == frames
    try:
        check_fit_frames(config)
        passes = True
    except ConfigError:
        passes = False
    assert passes == fits
