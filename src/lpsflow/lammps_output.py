"""What LAMMPS leaves behind, read and repaired: the model deviation table, custom dumps as
ASE frames, cutting both after their last complete record, and LAMMPS' last error.

The reader layer under exploration, selection and production (each runs LAMMPS through
:mod:`lpsflow.lammps` and reads its output here). dpdata is imported inside
:func:`read_trajectory`: its plugins reconfigure logging, unwanted when Snakemake builds
the DAG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from ase import Atoms

#: the header DeePMD-kit writes in model_devi.out (a run that wrote nothing gets it alone)
MODEL_DEVI_HEADER = (
    "#       step max_devi_v min_devi_v avg_devi_v max_devi_f min_devi_f avg_devi_f\n"
)


def read_model_devi(path: str | Path) -> pd.DataFrame:
    """DeePMD's model_devi.out as a table (columns from its header: step, max_devi_f, ...)."""
    path = Path(path)
    with open(path) as fh:
        header = fh.readline().lstrip("#").split()
    data = np.loadtxt(path, ndmin=2)
    if data.size == 0:
        return pd.DataFrame(columns=header)
    return pd.DataFrame(data, columns=header[: data.shape[1]])


def read_trajectory(dump: Path, type_map: list[str]) -> list[Atoms]:
    """Frames of a LAMMPS custom dump as ASE Atoms (types mapped through ``type_map``)."""
    import dpdata  # here, not at module level: see the module docstring

    if not Path(dump).exists() or Path(dump).stat().st_size == 0:
        return []  # a run that died before its first frame
    system = dpdata.System(str(dump), fmt="lammps/dump", type_map=type_map)
    return system.to("ase/structure") if len(system) else []


def complete_dump(path: Path) -> int:
    """Cut a LAMMPS dump after its last complete frame (a killed run may leave half a
    frame); returns the number of frames kept."""
    if not path.exists():
        path.write_text("")
        return 0
    blocks = path.read_text(errors="replace").split("ITEM: TIMESTEP\n")[1:]
    kept = []
    for block in blocks:
        lines = block.splitlines()
        try:
            n = int(lines[lines.index("ITEM: NUMBER OF ATOMS") + 1])
            start = next(i for i, ln in enumerate(lines) if ln.startswith("ITEM: ATOMS"))
        except (ValueError, IndexError, StopIteration):
            break
        body = lines[start + 1 : start + 1 + n]
        if len(body) != n or not block.endswith("\n"):
            break
        kept.append(block)
    path.write_text("".join("ITEM: TIMESTEP\n" + b for b in kept))
    return len(kept)


def complete_model_devi(path: Path, n_max: int | None = None) -> int:
    """Keep the header and the complete records (at most ``n_max``) of ``model_devi.out``;
    returns the number of records kept."""
    if not path.exists():
        path.write_text(MODEL_DEVI_HEADER)
        return 0
    lines = path.read_text(errors="replace").splitlines()
    header = [ln for ln in lines if ln.startswith("#")][:1]
    ncol = len(header[0].lstrip("#").split()) if header else None
    records = []
    for ln in lines:
        if ln.startswith("#") or not ln.strip():
            continue
        fields = ln.split()
        if ncol and len(fields) < ncol:
            break
        try:
            [float(f) for f in fields]
        except ValueError:
            break
        records.append(ln)
    records = records[:n_max] if n_max is not None else records
    path.write_text("\n".join(header + records) + "\n")
    return len(records)


def lammps_error(workdir: Path) -> str:
    """LAMMPS' last ``ERROR`` line in the job's log or output ("" if none)."""
    for name in ("log.lammps", "stdout.txt"):
        path = workdir / name
        if path.exists():
            errors = [
                ln.strip()
                for ln in path.read_text(errors="replace").splitlines()
                if ln.startswith("ERROR")
            ]
            if errors:
                return errors[-1]
    return ""
