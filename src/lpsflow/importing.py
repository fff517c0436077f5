"""Labelled frames brought by the user (``init.import``): reading, checks, level of theory.

Each entry names a dpdata format, a path, the composition the frames belong to, an optional
stride and the level of theory the labels were computed with. Frames are read with dpdata
(which converts every format to eV, angstrom, eV/angstrom and a virial in eV), checked
before any job starts (:func:`check_entry`), and written into the label store as entries of
engine ``import`` (:func:`import_labels`), so they reach the same datasets, held-out split,
quality filters (:func:`lpsflow.dataset.quality_problem`) and report tables as labels
computed here.

Formats tested here: ``deepmd/npy`` (a system folder or a folder of systems),
``deepmd/hdf5`` (every system group of the file), ``extxyz`` (ASE's extended XYZ with
``energy``, ``forces`` and ``stress``/``virial``; eV and angstrom) and ``cp2k/aimd_output``
(a CP2K MD folder read by cp2kdata: ``*-pos-*.xyz``, ``*-frc-*.xyz`` and the CP2K log, from
which cells and the analytical stress are taken). Any other dpdata format (``vasp/outcar``,
``vasp/xml``, ...) is passed to dpdata as is and is untested here.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from pathlib import Path

import numpy as np
from ase import Atoms

from lpsflow.dft import get_engine
from lpsflow.store import LabelStore, checksums, frame_key


def _without_new_root_handlers(before: list) -> None:
    """Drop root logging handlers added since ``before``: dpdata loads its plugins on import,
    and cp2kdata's calls ``logging.basicConfig``, whose handler would prefix every later
    message of the process that imports this module (Snakemake's included)."""
    for handler in logging.root.handlers[:]:
        if handler not in before:
            logging.root.removeHandler(handler)


def _dpdata():
    """dpdata, imported on first use (it loads every plugin: about a second, which the
    workflow's parse of a config without imports should not pay)."""
    before = list(logging.root.handlers)
    import dpdata

    _without_new_root_handlers(before)
    return dpdata


TESTED_FORMATS = ("deepmd/npy", "deepmd/hdf5", "extxyz", "cp2k/aimd_output")

#: keys of a DFT level of theory, in the order of its label; the first four must be declared
#: (``overrides``: the user's changes to CP2K's &DFT section, lpsflow.dft.cp2k_input)
THEORY_KEYS = (
    "functional",
    "dispersion",
    "basis",
    "cutoff",
    "potential",
    "rel_cutoff",
    "overrides",
)
REQUIRED_THEORY = THEORY_KEYS[:4]
#: keys of a teacher potential's level of theory (lpsflow.dft.mlip.Mlip.theory)
MLIP_THEORY_KEYS = (
    "model",
    "model_version",
    "modal",
    "dispersion",
    "dispersion_method",
    "dispersion_parameters",
)


class ImportDataError(ValueError):
    """An ``init.import`` entry is unusable; the message names the entry."""


# ---- level of theory ----
def theory_kind(theory: dict) -> str:
    """``mlip`` for a teacher potential's level of theory (it names a ``model``), else ``dft``."""
    return "mlip" if theory.get("model") else "dft"


def canonical_theory(theory: dict) -> dict:
    """Comparable description of a level of theory (number format removed; DFT names in
    upper case, a teacher's as its engine prints them and compared without case).

    DFT: cutoffs in Ry; ``dispersion`` ``none``/``D3``/``D3BJ`` as in the ``dft`` settings.
    Teacher: model, model_version, modal, dispersion (``none``, ``D3(BJ)``, ``D3(0)``) and
    its method or parameters.
    """
    if theory_kind(theory) == "mlip":
        return {
            key: str(theory[key]).strip()
            for key in MLIP_THEORY_KEYS
            if theory.get(key) not in (None, "")
        }
    out = {}
    for key in THEORY_KEYS:
        value = theory.get(key)
        if value is None or value == "":
            continue
        if key in ("cutoff", "rel_cutoff"):
            out[key] = float(value)
        else:
            out[key] = str(value).strip().upper()
    return out


def engine_theory(dft: dict) -> dict:
    """Level of theory of the labels computed here: the ``theory()`` of the engine that
    ``dft.engine`` selects (``dft`` settings with the preset applied), canonical."""

    return canonical_theory(get_engine(dft["engine"], dft).theory())


def theory_label(theory: dict) -> str:
    """One-line label of a level of theory: ``PBE+D3 DZVP-MOLOPT-SR-GTH GTH-PBE 400/50 Ry``
    for DFT, ``CHGNet 0.3.0`` or ``CHGNet 0.3.0+D3(BJ, PBE parameters)`` for a teacher."""
    t = canonical_theory(theory)
    if theory_kind(t) == "mlip":
        text = f"{t['model']} {t.get('model_version', '?')}"
        if "modal" in t:
            text += f" ({t['modal']})"
        disp = t.get("dispersion", "none")
        if disp.lower() != "none":
            how = t.get("dispersion_method")
            how = f"{how} parameters" if how else t.get("dispersion_parameters", "?")
            text += f"+{disp[:-1]}, {how})" if disp.endswith(")") else f"+{disp} ({how})"
        return text
    disp = t.get("dispersion", "?")
    parts = [t.get("functional", "?") + ("" if disp == "NONE" else f"+{disp}")]
    parts.append(t.get("basis", "?"))
    if "potential" in t:
        parts.append(t["potential"])
    cut = f"{t['cutoff']:g}" if "cutoff" in t else "?"
    if "rel_cutoff" in t:
        cut += f"/{t['rel_cutoff']:g}"
    parts.append(f"{cut} Ry")
    if "overrides" in t:
        parts.append(f"[{t['overrides']}]")
    return " ".join(parts)


def theory_differences(declared: dict, reference: dict) -> list[str]:
    """Keys where a declared level of theory differs from ``reference`` (both canonical).

    Of two kinds (DFT and a teacher potential) the whole theory differs. DFT: required keys
    always count, ``potential`` and ``rel_cutoff`` only when declared. Teacher: every key.
    """
    kind, ref_kind = theory_kind(declared), theory_kind(reference)
    if kind != ref_kind:
        return [f"kind {kind} vs {ref_kind}"]
    if kind == "mlip":
        return [
            f"{key} {declared.get(key)!r} vs {reference.get(key)!r}"
            for key in MLIP_THEORY_KEYS
            if str(declared.get(key, "")).casefold() != str(reference.get(key, "")).casefold()
        ]
    diffs = []
    for key in THEORY_KEYS:
        if key not in declared and key not in REQUIRED_THEORY:
            continue
        if declared.get(key) != reference.get(key):
            diffs.append(f"{key} {declared.get(key)!r} vs {reference.get(key)!r}")
    return diffs


# ---- reading ----
def where(entry: dict, index: int) -> str:
    return f"init.import[{index}] ({entry.get('name', '?')})"


def cp2k_log(folder: Path, name: str | None) -> Path:
    """The CP2K log of an MD folder: ``name`` if given, else the only ``*.out``/``*.log``."""
    if name:
        return folder / name
    logs = sorted(p for ext in ("*.out", "*.log") for p in folder.glob(ext))
    if len(logs) != 1:
        raise ValueError(
            f"found {len(logs)} CP2K log files (*.out, *.log) in {folder}; set cp2k_output"
        )
    return logs[0]


def read_systems(entry: dict) -> list:
    """Every labelled system (``dpdata.LabeledSystem``) of an entry, ``stride`` applied
    (units converted by dpdata)."""
    dpdata = _dpdata()
    fmt, path = entry["format"], Path(entry["path"])
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if fmt == "deepmd/npy":
        folders = [p.parent for p in sorted(path.rglob("type.raw"))]
        if not folders:
            raise ValueError(f"no deepmd/npy system (type.raw) under {path}")
        systems = [dpdata.LabeledSystem(str(f), fmt=fmt) for f in folders]
    elif fmt == "deepmd/hdf5":
        import h5py

        with h5py.File(path, "r") as fh:
            groups = []
            fh.visititems(
                lambda name, obj: groups.append(name) if name.endswith("type.raw") else None
            )
        if not groups:
            raise ValueError(f"no deepmd/hdf5 system (type.raw) in {path}")
        names = [g[: -len("type.raw")].rstrip("/") for g in sorted(groups)]
        systems = [dpdata.LabeledSystem(f"{path}#{n}" if n else str(path), fmt=fmt) for n in names]
    elif fmt == "extxyz":
        multi = dpdata.MultiSystems.from_file(str(path), fmt=fmt)
        systems = list(multi.systems.values())
    elif fmt == "cp2k/aimd_output":
        if not path.is_dir():
            raise ValueError(f"{path} must be the folder of a CP2K MD run")
        log = cp2k_log(path, entry.get("cp2k_output"))
        systems = [dpdata.LabeledSystem(str(path), fmt=fmt, cp2k_output_name=str(log))]
    else:
        systems = [dpdata.LabeledSystem(str(path), fmt=fmt)]
    stride = int(entry.get("stride", 1))
    systems = [s.sub_system(np.arange(0, len(s), stride)) for s in systems]
    return [s for s in systems if len(s)]


@functools.lru_cache(maxsize=64)
def _summary(fmt: str, path: str, stride: int, cp2k_output: str, mtime: float) -> dict:
    before = list(logging.root.handlers)
    try:
        systems = read_systems(
            {"format": fmt, "path": path, "stride": stride, "cp2k_output": cp2k_output or None}
        )
    finally:
        _without_new_root_handlers(before)
    return {
        "n_frames": sum(len(s) for s in systems),
        "elements": sorted(
            {
                str(n)
                for s in systems
                for n, c in zip(s["atom_names"], s["atom_numbs"], strict=True)
                if c
            }
        ),
        "virials": all("virials" in s.data for s in systems),
    }


def summary(entry: dict) -> dict:
    """Frames, elements and virial presence of an entry (read once per process)."""
    path = Path(entry["path"])
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _summary(
        entry["format"],
        str(path),
        int(entry.get("stride", 1)),
        entry.get("cp2k_output") or "",
        mtime,
    )


def check_entry(
    entry: dict,
    index: int,
    allowed_elements: list[str],
    compositions: list[str],
    dft: dict,
    needs_virial: bool,
) -> dict:
    """Check one ``init.import`` entry before any job; returns its :func:`summary`.

    Rejects a missing path, a file dpdata cannot read in the given format, no frames, an
    element outside ``allowed_elements``, a composition that is not configured, frames
    without virial when ``needs_virial``, and a declared level of theory that differs from
    the ``dft`` settings unless the entry sets ``allow_mixed_theory``. Frames of another
    kind of theory (DFT frames in a teacher campaign, or the reverse) are refused always,
    the message naming both theories.
    """
    at = where(entry, index)
    if entry["composition"] not in compositions:
        raise ImportDataError(
            f"{at}.composition: {entry['composition']!r} is not a configured composition "
            f"({compositions})"
        )
    if not Path(entry["path"]).exists():
        raise ImportDataError(f"{at}.path: {entry['path']} does not exist")
    try:
        info = summary(entry)
    except Exception as err:  # dpdata raises many types for unreadable input
        raise ImportDataError(
            f"{at}: cannot read {entry['path']} as {entry['format']}: {type(err).__name__}: {err}"
        ) from err
    if info["n_frames"] == 0:
        raise ImportDataError(f"{at}: no labelled frames in {entry['path']}")
    unknown = sorted(set(info["elements"]) - set(allowed_elements))
    if unknown:
        raise ImportDataError(f"{at}: elements {unknown} outside the type map {allowed_elements}")
    if needs_virial and not info["virials"]:
        raise ImportDataError(
            f"{at}: frames without virial, but the training template weights virials "
            "(loss start_pref_v/limit_pref_v > 0)"
        )
    declared = canonical_theory(entry["theory"])
    if theory_kind(declared) == "dft":
        missing = [k for k in REQUIRED_THEORY if k not in declared]
        if missing:
            raise ImportDataError(f"{at}.theory: missing {missing}")
    here = engine_theory(dft)
    if theory_kind(declared) != theory_kind(here):
        # a teacher campaign's ground truth is the teacher's own MD: frames of another kind
        # of theory would make the comparison meaningless, so no flag lets them in
        what = {"dft": "DFT labels", "mlip": "labels of a teacher potential"}
        raise ImportDataError(
            f"{at}.theory: these frames are {what[theory_kind(declared)]} "
            f"({theory_label(declared)!r}) but this campaign labels with "
            f"{what[theory_kind(here)]} ({theory_label(here)!r}, dft.engine: "
            f"{dft['engine']}); the two kinds never mix (allow_mixed_theory only admits a "
            "different level of the same kind)"
        )
    diffs = theory_differences(declared, here)
    if diffs and not entry.get("allow_mixed_theory", False):
        raise ImportDataError(
            f"{at}.theory: level of theory {theory_label(declared)!r} differs from the dft "
            f"settings {theory_label(here)!r} ({'; '.join(diffs)}); set "
            "allow_mixed_theory: true on this entry to mix them deliberately"
        )
    return info


def needs_virial(template: str | Path) -> bool:
    """True if a DeePMD-kit input template gives virials a non-zero loss weight."""
    loss = json.loads(Path(template).read_text()).get("loss", {})
    return any(float(loss.get(k, 0.0)) > 0 for k in ("start_pref_v", "limit_pref_v"))


# ---- into the store ----
def import_physics(theory: dict) -> dict:
    """Settings hashed into the store key of an imported label."""
    return {"engine": "import", **canonical_theory(theory)}


def frame_atoms(system, i: int) -> Atoms:
    """Frame ``i`` of a system as periodic ASE Atoms (no calculator)."""
    names = np.asarray(system["atom_names"])[system["atom_types"]]
    return Atoms(
        symbols=list(names), positions=system["coords"][i], cell=system["cells"][i], pbc=True
    )


def import_labels(entry: dict, store: LabelStore) -> list[dict]:
    """Write every frame of ``entry`` into ``store`` (engine ``import``); one row per frame.

    Rows have the columns of a labelling manifest (composition, frame, replica, key,
    status, reason, reused, engine_runs) plus ``source`` and ``theory``. A frame already in
    the store is reused.
    """
    physics = import_physics(entry["theory"])
    label = theory_label(entry["theory"])
    rows, index = [], 0
    for system in read_systems(entry):
        for i in range(len(system)):
            atoms = frame_atoms(system, i)
            key = frame_key(atoms, physics)
            old = store.record(key)
            reused = old is not None and old["status"] == "ok" and store.verify(key)
            if not reused:
                work = store.new_workdir(key)
                from ase.io import write  # lazy: common.smk imports this module

                write(work / "frame.extxyz", atoms, format="extxyz")
                frame = system.sub_system([i])
                frame.to("deepmd/npy", str(work / "label"))
                record = {
                    "key": key,
                    "status": "ok",
                    "reason": "",
                    "engine": "import",
                    "physics": physics,
                    "n_atoms": len(atoms),
                    "formula": atoms.get_chemical_formula(),
                    "attempts": [],
                    "energy_eV": float(frame["energies"][0]),
                    "checksums": checksums(work / "label", work),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "source": {
                        "import": entry["name"],
                        "format": entry["format"],
                        "path": os.fspath(entry["path"]),
                        "frame": index,
                        "allow_mixed_theory": bool(entry.get("allow_mixed_theory", False)),
                    },
                }
                store.commit(key, work, record, replace=old is not None)
            rows.append(
                {
                    "composition": entry["composition"],
                    "frame": index,
                    "replica": -1,
                    "key": key,
                    "status": "ok",
                    "reason": "",
                    "reused": reused,
                    "engine_runs": 0,
                    "source": f"import:{entry['name']}",
                    "theory": label,
                }
            )
            index += 1
    return rows


def frames_per_theory(table: pd.DataFrame, theory: str) -> pd.DataFrame:  # noqa: F821
    """Labelled frames per level of theory, source and composition, from the initial label
    tables; rows without a ``theory`` (or ``source``) are this campaign's own labels, at
    ``theory`` (from perturbed frames)."""
    table = table.copy()
    for column, default in (("source", "perturb"), ("theory", theory)):
        if column not in table:
            table[column] = default
        table[column] = table[column].fillna(default)
    return (
        table[table["status"] == "ok"]
        .groupby(["theory", "source", "composition"])
        .size()
        .rename("frames")
        .reset_index()
    )
