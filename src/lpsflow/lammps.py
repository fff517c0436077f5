"""LAMMPS with the DeePMD ensemble, shared by exploration and production MD.

One place for the unit conversion, the input header (metal units, ``pair_style deepmd``
with the model deviation written every ``devi_every`` steps) and the process environment
(threads of DeePMD-kit's TensorFlow and OpenMP, an MPI launcher or none).
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from ase import Atoms

from lpsflow.launch import program_env
from lpsflow.training import dp_env, python_tool

#: fs -> ps (LAMMPS metal units use ps)
FS_TO_PS = 1e-3


def header(
    models: list[str],
    type_map: list[str],
    devi_every: int,
    timestep_fs: float,
    relative_level: float | None = None,
) -> str:
    """Input lines up to the time step: metal units, data file ``conf.lmp``, the ensemble.

    ``devi_every``: steps between model-deviation records in ``model_devi.out``;
    ``relative_level`` (eV/A): DeePMD's relative force deviation, none when None.
    """
    rel = f" relative {relative_level}" if relative_level else ""
    return f"""units           metal
boundary        p p p
atom_style      atomic
atom_modify     map yes
read_data       conf.lmp
pair_style      deepmd {" ".join(models)} out_freq {devi_every} out_file model_devi.out{rel}
pair_coeff      * * {" ".join(type_map)}
neighbor        1.0 bin
timestep        {timestep_fs * FS_TO_PS}
"""


def resolve(argv: list[str]) -> list[str]:
    """A bare ``lmp`` means the LAMMPS installed with deepmd-kit beside this Python."""
    return [python_tool("lmp") if a == "lmp" else a for a in argv]


def run_lammps(
    atoms: Atoms,
    text: str,
    type_map: list[str],
    workdir: Path,
    *,
    threads: int,
    command: str = "lmp",
    check: bool = True,
) -> int:
    """Write ``atoms`` as ``conf.lmp`` and run the LAMMPS input ``text`` in ``workdir``.

    Returns LAMMPS' exit status; with ``check`` a non-zero status raises
    ``CalledProcessError``. A missing executable always raises.
    """
    from ase.io import write  # not at module level: common.smk imports this module

    workdir.mkdir(parents=True, exist_ok=True)
    write(workdir / "conf.lmp", atoms, format="lammps-data", specorder=type_map, masses=True)
    (workdir / "in.lammps").write_text(text)
    argv = [*resolve(shlex.split(command)), "-in", "in.lammps"]
    with open(workdir / "stdout.txt", "w") as out:
        proc = subprocess.run(
            argv,
            cwd=workdir,
            env=program_env(argv, dp_env(threads)),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=check,
        )
    return proc.returncode
