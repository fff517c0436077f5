"""Typed settings: built from the validated config, science apart from execution."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import shipped, validated

from lpsflow.dft.base import DFT_SCIENCE_KEYS, OMIT_WHEN_EMPTY
from lpsflow.dft.cp2k import PHYSICS_KEYS
from lpsflow.loop import Verdict
from lpsflow.settings import (
    DatasetSettings,
    DftScience,
    SelectSettings,
    Settings,
)

EXECUTION = {
    "dft": ["command", "threads", "timeout_s", "max_attempts", "retry_failed", "store"],
    "train": ["threads"],
    "explore": ["command", "threads"],
    "production": ["threads"],
}


@pytest.fixture
def settings() -> Settings:
    """The CP2K demo's settings (config/demo.yaml labels with the teacher)."""
    return Settings.from_config(validated(shipped("demo-cp2k.yaml")))


def test_every_config_key_is_in_the_settings():
    """No key of the schema is lost between config and settings (science or execution)."""
    config = validated(shipped("config.yaml"))
    s = Settings.from_config(config)
    science = s.science()
    science["init"]["import"] = science["init"].pop("imports")  # a Python keyword
    for section in ("sampling", "init", "select", "loop"):
        assert set(config[section]) <= set(science[section]), section
    assert set(config["train"]) - set(science["train"]) == {"template", "threads"}
    assert set(config["production"]) - set(science["production"]) == {"threads"}
    assert set(config["explore"]) - set(science["explore"]) == {"schedule", "command", "threads"}
    dft = {f.name for f in dataclasses.fields(type(s.dft.execution))}
    physics = {k for keys in DFT_SCIENCE_KEYS.values() for k in keys}
    assert set(config["dft"]) <= dft | physics | {"engine", "preset"}


def test_science_has_no_execution_value(demo_config):
    base = Settings.from_config(demo_config).science()
    for section, keys in EXECUTION.items():
        for key in keys:
            config = validated(demo_config)
            value = config[section][key]
            config[section][key] = (
                (not value)
                if isinstance(value, bool)
                else (value + 1 if isinstance(value, (int, float)) else f"{value}-other")
            )
            assert Settings.from_config(config).science() == base, f"{section}.{key}"


def test_dft_science_is_what_the_store_key_hashes(settings):
    assert settings.dft.science.engine == "cp2k"
    # keys that are empty stay out (store keys of labels made before they existed)
    assert tuple(settings.dft.science.physics) == tuple(
        k for k in PHYSICS_KEYS if k not in OMIT_WHEN_EMPTY
    )
    # the cheap preset of the demo is applied
    assert settings.dft.science.physics["basis"] == "SZV-MOLOPT-SR-GTH"
    engine = settings.dft.engine_settings()
    assert engine["command"] == settings.dft.execution.command and engine["cutoff"] == 250


def test_params_round_trip_and_missing_keys_raise(settings):
    data = settings.train.dataset
    assert DatasetSettings.from_params(data.params()) == data
    broken = data.params()
    del broken["max_force"]
    with pytest.raises(TypeError, match="max_force"):
        DatasetSettings.from_params(broken)
    with pytest.raises(TypeError):
        DatasetSettings.from_params({**data.params(), "unknown": 1})
    assert DftScience.from_params(settings.dft.science.params()) == settings.dft.science
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.max_force = 1.0


def test_select_settings(demo_config):
    assert demo_config["select"]["trust_lo_v"] == 0.02  # the demo flags virial deviations
    for key in ("trust_lo_v", "trust_hi_v"):
        demo_config["select"].pop(key)
    s = Settings.from_config(demo_config).select
    assert (s.trust_lo_v, s.trust_hi_v, s.md_relative_level) == (None, None, None)
    demo_config["select"].update(trust_lo_v=0.02, trust_hi_v=0.05, trust_mode="relative")
    s = SelectSettings.from_params(Settings.from_config(demo_config).select.params())
    assert (s.trust_lo_v, s.trust_hi_v, s.md_relative_level) == (0.02, 0.05, 1.0)


def test_verdict(tmp_path):
    v = Verdict("continue", 3, {"a": 0.5})
    assert not v.stop and not v.converged
    v.write(tmp_path / "v.json")
    assert Verdict.read(tmp_path / "v.json") == v
    assert Verdict("stalled", 0).stop and Verdict("converged", 0).converged
    with pytest.raises(ValueError, match="status"):
        Verdict("done", 0)


def test_teacher_step_keeps_the_dp_runs_damping_and_dump_interval_in_time(demo_config):
    """A longer teacher step changes the integration only: thermostat and barostat damping
    (fs) and the Li dump interval (fs) stay the DP runs'; a step that does not divide the
    dump interval is refused."""
    from lpsflow.settings import TeacherMdSettings

    p = {**demo_config["production"], "timestep_fs": 1.0, "dump_every": 20}
    same = TeacherMdSettings.resolve({**demo_config["teacher_md"], "timestep_fs": None}, p)
    assert (same.timestep_fs, same.dump_every) == (1.0, 20)
    assert (same.thermostat_damping_fs, same.barostat_damping_fs) == (100.0, 1000.0)
    longer = TeacherMdSettings.resolve({**demo_config["teacher_md"], "timestep_fs": 2.0}, p)
    assert (longer.timestep_fs, longer.dump_every) == (2.0, 10)
    assert (longer.thermostat_damping_fs, longer.barostat_damping_fs) == (100.0, 1000.0)
    with pytest.raises(ValueError, match="does not divide"):
        TeacherMdSettings.resolve({**demo_config["teacher_md"], "timestep_fs": 3.0}, p)
