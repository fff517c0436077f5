"""Checks of the workflow config that a JSON schema cannot express, and derived values.

``workflow/schemas/config.schema.yaml`` validates types, ranges and fills defaults first;
:func:`check` then catches cross-key errors, each message naming the offending key.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

import numpy as np
from ase import Atoms

from lpsflow.dft.base import resolve_dft
from lpsflow.dft.cp2k import input_text
from lpsflow.dft.cp2k_input import (
    OverrideError,
    check_overrides,
    check_with_cp2k,
    offending_key,
)
from lpsflow.importing import ImportDataError, check_entry, needs_virial, summary
from lpsflow.launch import LAUNCHERS
from lpsflow.stoichiometry import ELEMENT_ORDER, SpeciationError, solve, speciate
from lpsflow.structures import StructureError, check_structure
from lpsflow.transport import FIT_WINDOW, lags_in_window


class ConfigError(ValueError):
    """The config is invalid; the message names the key."""


def composition_elements(comp: dict) -> set[str]:
    """Elements a composition entry brings into the type map."""
    if comp.get("structure"):
        return set(check_structure(comp["structure"]).get_chemical_symbols())
    elements = {"Li", "P", "S"}
    if comp.get("oxygen_fraction", 0) > 0:
        elements.add("O")
    if comp.get("halide_fraction", 0) > 0:
        elements.add(comp["halide"])
    return elements


def type_map(config: dict) -> list[str]:
    """The one type map of the campaign: elements in use, in the fixed order Li P S O Cl Br I."""
    if config.get("type_map"):
        return list(config["type_map"])
    used: set[str] = set()
    for comp in config["compositions"]:
        used |= composition_elements(comp)
    used |= import_elements(config)
    return [el for el in ELEMENT_ORDER if el in used]


def imports(config: dict) -> list[dict]:
    """The ``init.import`` entries (empty list if none)."""
    return list(config.get("init", {}).get("import", []) or [])


def import_elements(config: dict) -> set[str]:
    """Elements of the imported frames (files that cannot be read add nothing here)."""
    used: set[str] = set()
    for entry in imports(config):
        try:
            used |= set(summary(entry)["elements"])
        except Exception:  # reported with the entry's name by check_imports
            continue
    return used


def check_imports(config: dict) -> None:
    """Every ``init.import`` entry is readable, in the type map (explicit, or the elements
    lpsflow knows), and of the dft level of theory unless it allows a mix."""
    entries = imports(config)
    if not entries:
        return
    names = [e["name"] for e in entries]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"init.import: duplicate name(s) {dupes}; names must be unique")
    allowed = list(config.get("type_map") or ELEMENT_ORDER)
    template = config.get("train", {}).get("template")
    virial = bool(template) and Path(template).is_file() and needs_virial(template)
    dft = resolve_dft(config["dft"])
    comps = [c["name"] for c in config["compositions"]]
    for i, entry in enumerate(entries):
        try:
            check_entry(entry, i, allowed, comps, dft, virial)
        except ImportDataError as err:
            raise ConfigError(str(err)) from err


def check(config: dict) -> None:
    """Raise ConfigError for cross-key problems the schema cannot see."""
    names = [c["name"] for c in config["compositions"]]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"compositions: duplicate name(s) {dupes}; names must be unique")
    used: set[str] = set()
    for i, comp in enumerate(config["compositions"]):
        where = f"compositions[{i}] ({comp['name']})"
        has_x, has_file = "x" in comp, bool(comp.get("structure"))
        if has_x == has_file:
            raise ConfigError(f"{where}: give exactly one of 'x' (amorphous) or 'structure' (file)")
        if comp.get("halide_fraction", 0) > 0 and not comp.get("halide"):
            raise ConfigError(f"{where}.halide: required when halide_fraction > 0 (Cl, Br or I)")
        if has_file and comp.get("speciation"):
            raise ConfigError(f"{where}.speciation: only for amorphous cells (x), not 'structure'")
        try:
            used |= composition_elements(comp)
        except StructureError as err:
            raise ConfigError(f"{where}.structure: {err}") from err
        if has_x:
            stoich = solve(
                comp["x"], comp["n_atoms"], comp.get("halide"), comp.get("halide_fraction", 0.0)
            )
            if abs(stoich.x - comp["x"]) > 0.02:
                raise ConfigError(
                    f"{where}.n_atoms: {comp['n_atoms']} atoms cannot represent x={comp['x']} "
                    f"(closest x={stoich.x:.3f}); use a larger cell"
                )
            if comp.get("speciation"):
                check_speciation(comp, stoich, where)
    sel = config.get("select", {})
    if sel and not sel["trust_lo"] < sel["trust_hi"]:
        raise ConfigError(
            f"select.trust_lo ({sel['trust_lo']}) must be below select.trust_hi ({sel['trust_hi']})"
        )
    if sel and ("trust_lo_v" in sel) != ("trust_hi_v" in sel):
        raise ConfigError("select.trust_lo_v and select.trust_hi_v: give both or neither")
    if sel and "trust_lo_v" in sel and not sel["trust_lo_v"] < sel["trust_hi_v"]:
        raise ConfigError(
            f"select.trust_lo_v ({sel['trust_lo_v']}) must be below "
            f"select.trust_hi_v ({sel['trust_hi_v']})"
        )
    if "steps" in config.get("production", {}):
        check_fit_frames(config)
    if "dft" in config:
        check_dft_files(config["dft"])
        check_dft_basis(config, sorted(used | import_elements(config)))
    template = config.get("train", {}).get("template")
    if template and not Path(template).is_file():
        raise ConfigError(f"train.template: file {template} not found")
    if "dft" in config and "init" in config:
        check_imports(config)
    if config.get("type_map"):
        tm = config["type_map"]
        missing = sorted(used - set(tm))
        if missing:
            raise ConfigError(f"type_map: misses elements {missing} used by the compositions")
        order = [el for el in ELEMENT_ORDER if el in tm]
        if list(tm) != order:
            raise ConfigError(f"type_map: must follow the order {list(ELEMENT_ORDER)}, got {tm}")


def recorded_frames(steps: int, every: int) -> int:
    """Frames of a dump every ``every`` steps over a run of ``steps`` (step 0 included)."""
    return steps // every + 1


def check_fit_frames(config: dict) -> None:
    """Every trajectory the transport analysis fits has at least 3 lag times in the fit window.

    Checked before any job runs: otherwise the analysis of each production run (or of the
    teacher's runs) fails after the MD, hours into a campaign. Names the key to change and the
    largest value that works.
    """
    prod = config["production"]
    window = tuple(prod.get("fit_window", FIT_WINDOW))
    teacher = config.get("teacher_md") or {}
    runs = [("production.dump_every", prod["steps"], "dump_every", "Li positions (li.dcd)")]
    if prod.get("dump_all_every"):
        runs.append(("production.dump_all_every", prod["steps"], "dump_all_every", "all atoms"))
    if config.get("dft", {}).get("engine") == "mlip" and teacher.get("steps") is not None:
        runs.append(("teacher_md.steps", teacher["steps"], "dump_every", "the teacher's Li"))
    for key, steps, every_key, what in runs:
        every = prod[every_key]
        n = recorded_frames(steps, every)
        if lags_in_window(n, window) >= 3:
            continue
        largest = next(
            (
                e
                for e in range(every - 1, 0, -1)
                if lags_in_window(recorded_frames(steps, e), window) >= 3
            ),
            None,
        )
        fix = f"production.{every_key} <= {largest}" if largest else "more steps"
        raise ConfigError(
            f"{key}: {steps} steps recorded every {every} give {n} frames of {what}, "
            f"{lags_in_window(n, window)} lag time(s) in the fit window {list(window)} of the "
            f"transport analysis (3 needed); use {fix}"
        )


def coverage_warnings(config: dict) -> list[str]:
    """What the exploration leaves out that the production runs visit (warnings, not errors).

    The production makes its glasses by an NPT melt-quench and runs each temperature in NPT
    (``production.npt_steps`` >= 2), so the model's pressure decides the density the
    conductivity is computed at. The closed-loop
    validation (docs/validation.md) found the force deviation blind to the model's
    equation-of-state error: NPT frames 35-47 % expanded were all "accurate" by force
    deviation while the model's pressure there was 0.2-0.5 GPa off; and NPT exploration at the
    transport temperatures alone left the melt's densities unexplored (the demo's glass came
    out at 1.17 g/cm3). Hence two checks: NPT exploration up to the hottest NPT stage of the
    production (the melt), and virial trust levels.
    """
    prod, sel = config.get("production", {}), config.get("select", {})
    schedule = config.get("explore", {}).get("schedule", [])
    temps = list(prod.get("temperatures") or [])
    if not schedule or not (temps or prod):
        return []
    # NPT in production: the melt-quench (melt temperature down to quench_to) always, each
    # transport temperature when npt_steps >= 2
    hottest = max(
        [prod.get("melt_temperature", 0)] + (temps if prod.get("npt_steps", 0) >= 2 else [])
    )
    npt = [e["temperature"] for e in schedule if e["ensemble"] == "npt"]
    npt_max = max((max(t) if isinstance(t, list) else t for t in npt), default=None)
    out = []
    if npt_max is None:
        out.append(
            "explore.schedule has no NPT entry, but the production's melt-quench (and its "
            "transport temperatures) run in NPT: the model's density is never tested (add "
            f"{{ensemble: npt, temperature: [{hottest:g}, {prod.get('quench_to', 300):g}], "
            f"pressures: [{prod.get('pressure', 1.0):g}]}})"
        )
    elif npt_max < hottest:
        out.append(
            f"explore.schedule: NPT only up to {npt_max:g} K, production NPT up to "
            f"{hottest:g} K (melt-quench or transport runs): the densities above are not explored"
        )
    if npt and "trust_lo_v" not in sel:
        out.append(
            "select.trust_lo_v/trust_hi_v are not set: the force deviation alone does not see "
            "a wrong equation of state (docs/validation.md), so NPT frames are rarely labelled"
        )
    return out


def check_speciation(comp: dict, plain, where: str) -> None:
    """An explicit anion-unit mix must fit the composition: S, Li+ and charge balance."""
    fractions = comp["speciation"]
    key = f"{where}.speciation"
    total = sum(fractions.values())
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(f"{key}: fractions of P sum to {total:g}; they must sum to 1")
    try:
        speciate(plain.li2s, plain.p2s5, fractions, plain.lix)
        stoich = solve(
            comp["x"],
            comp["n_atoms"],
            comp.get("halide"),
            comp.get("halide_fraction", 0.0),
            speciation=fractions,
        )
    except SpeciationError as err:
        raise ConfigError(f"{key}: {fractions} does not fit x={comp['x']}: {err}") from err
    if abs(stoich.x - comp["x"]) > 0.02:
        raise ConfigError(
            f"{key}: {fractions} cannot be held at x={comp['x']} with about {comp['n_atoms']} "
            f"atoms (closest x={stoich.x:.3f}); use a larger cell"
        )
    if stoich.charge() != 0:
        raise ConfigError(f"{key}: net charge {stoich.charge()} e (units {stoich.units})")


def cp2k_data_dirs(dft: dict) -> list[Path]:
    """Folders where CP2K looks for bare data file names, as far as this machine knows."""
    dirs = [dft.get("data_dir"), os.environ.get("CP2K_DATA_DIR"), "/usr/share/cp2k"]
    return [Path(d) for d in dirs if d and Path(d).is_dir()]


def check_dft_files(dft: dict) -> None:
    """CP2K basis and potential files must exist (when a CP2K data folder is known here)."""
    if dft["engine"] != "cp2k":
        return
    dirs = cp2k_data_dirs(dft)
    for key in ("basis_file", "potential_file"):
        name = Path(dft[key])
        if name.is_absolute():
            if not name.is_file():
                raise ConfigError(f"dft.{key}: {name} does not exist")
        elif dirs and not any((d / name).is_file() for d in dirs):
            where = ", ".join(str(d) for d in dirs)
            raise ConfigError(f"dft.{key}: {name} not found in the CP2K data folders ({where})")


def check_dft_basis(config: dict, elements: list[str]) -> None:
    """A per-element ``dft.basis`` names every element in use; ``dft.overrides`` is made of
    CP2K names and leaves alone what the workflow writes from other keys."""
    dft = config["dft"]
    if dft["engine"] != "cp2k":
        return
    basis = resolve_dft(dft)["basis"]
    if isinstance(basis, dict):
        needed = list(config.get("type_map") or elements)
        missing = [el for el in needed if el not in basis]
        if missing:
            raise ConfigError(
                f"dft.basis: no basis set for {missing} (elements in use: {needed}); give one "
                "for each element, or one name for all"
            )
    try:
        check_overrides(dft.get("overrides") or {})
    except OverrideError as err:
        raise ConfigError(str(err)) from err


def cp2k_executable(command: str) -> str | None:
    """The CP2K program in a ``dft.command`` (its launcher left out), if found here."""
    argv = shlex.split(command.format(threads=1, ranks=1))
    exe = next((a for a in argv if "cp2k" in Path(a).name), None)
    exe = exe or next((a for a in argv if Path(a).name not in LAUNCHERS), argv[0])
    return shutil.which(exe)


def check_dft_overrides(config: dict) -> str:
    """CP2K itself accepts the input with ``dft.overrides`` (``cp2k --check`` on the input of a
    small cell of every element in use, a few seconds); raises :class:`ConfigError` naming the
    override key CP2K rejects. Returns a note when CP2K is not installed here (then the first
    labelling job stops with a setup error instead); "" otherwise."""
    dft = config["dft"]
    overrides = dft.get("overrides") or {}
    if dft["engine"] != "cp2k" or not overrides:
        return ""
    exe = cp2k_executable(dft["command"])
    if exe is None:
        return f"dft.overrides: not checked, no CP2K program in {dft['command']!r} found here"
    elements = type_map(config)
    grid = np.array([[i % 3, (i // 3) % 3, i // 9] for i in range(len(elements))], float)
    cell = Atoms(elements, positions=2.5 * grid + 1.0, cell=[10.0] * 3, pbc=True)
    text = input_text(cell, resolve_dft(dft))
    message = check_with_cp2k(text, exe)
    if message:
        key = offending_key(message, overrides, text)
        raise ConfigError(f"{key}: CP2K rejects the input with dft.overrides: {message}")
    return ""


def check_writable(folder: str | Path) -> None:
    """``folder`` can hold results: it is a writable directory, or its closest existing
    parent is one (nothing is created: the workflow's jobs make their own folders)."""
    existing = Path(folder).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"results folder {folder} is not writable: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"results folder {folder} is not writable: {existing} is read-only")


def n_frames(config: dict, comp: dict) -> int:
    """Perturbed initial frames of a composition: replicas x frames per replica (0 if the
    initial data come from AIMD only, ``init.method: aimd``)."""
    if config["init"].get("method", "perturb") == "aimd":
        return 0
    return comp["replicas"] * config["init"]["n_perturb"]


# ---- campaign folders: where relative paths point, and typed --config values ----


def input_paths(config: dict) -> list[tuple[str, list]]:
    """Config keys that name input files, as (key shown in messages, path into the config).

    ``dft.store``, ``results/`` and the logs are outputs and always live in the campaign
    folder; bare CP2K data file names are found by CP2K in its data directory.
    """
    keys: list[tuple[str, list]] = []
    if config.get("train", {}).get("template"):
        keys.append(("train.template", ["train", "template"]))
    for i, comp in enumerate(config.get("compositions", [])):
        if comp.get("structure"):
            keys.append((f"compositions[{i}].structure", ["compositions", i, "structure"]))
    for i, entry in enumerate(imports(config)):
        if entry.get("path"):
            keys.append((f"init.import[{i}].path", ["init", "import", i, "path"]))
    return keys


def resolve_paths(config: dict, campaign: str | Path, workflow_root: str | Path) -> list[str]:
    """Point relative input paths of ``config`` at the campaign folder, else the workflow's.

    A relative path (``train.template: config/deepmd.json``, a composition's ``structure``,
    an ``init.import`` path) means the file in the campaign folder (Snakemake's working
    directory) when it exists there, and is left as written. When only the workflow's own
    folder has it (the shipped DeePMD templates and crystal files), the key is set to that
    absolute path. A path found in neither is left as written, for :func:`check` to report.
    ``config`` is changed in place; returns one line per path that fell back.
    """
    campaign, workflow_root = Path(campaign).absolute(), Path(workflow_root).absolute()
    notes = []
    for key, where in input_paths(config):
        *parents, last = where
        holder = config
        for step in parents:
            holder = holder[step]
        path = Path(holder[last])
        if path.is_absolute() or (campaign / path).exists() or campaign == workflow_root:
            continue
        shipped = workflow_root / path
        if shipped.exists():
            holder[last] = str(shipped)
            notes.append(f"{key}: {path} is not in {campaign}; using the workflow's {shipped}")
    return notes


_BOOLEANS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def _coerce(value, schema: dict):
    """``value`` (a string from ``--config``) as the type ``schema`` asks for, when it parses."""
    if not isinstance(schema, dict):
        return value
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        converted = _coerce(value, branch)
        if converted is not value:
            return converted
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                value[key] = _coerce(item, sub)
        return value
    if isinstance(value, list):
        if isinstance(schema.get("items"), dict):
            return [_coerce(item, schema["items"]) for item in value]
        return value
    if not isinstance(value, str):
        return value
    text = value.strip()
    if "null" in types and text.lower() in ("null", "~", "none"):
        return None
    if "integer" in types:
        try:
            return int(text)
        except ValueError:
            pass
    if "number" in types:
        try:
            return int(text) if text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            pass
    if "boolean" in types and text.lower() in _BOOLEANS:
        return _BOOLEANS[text.lower()]
    return value


def coerce_types(config: dict, schema: dict) -> dict:
    """Convert string values of ``config`` to the numbers and booleans ``schema`` declares.

    Snakemake reads nested ``--config`` values with YAML's base loader, so
    ``--config "loop={max_iterations: 5}"`` arrives as ``{"max_iterations": "5"}``, which the
    schema would reject. Strings are converted where the schema at that place asks for an
    integer, number, boolean or null and the text parses as one; anything else is left for
    the schema to judge (``"five"`` is still rejected, naming the key). In place; returns
    ``config``.
    """
    return _coerce(config, schema)
