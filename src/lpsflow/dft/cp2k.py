"""CP2K engine: input writing, running with a time limit, failure classification, parsing.

Parsing uses dpdata's ``cp2k/output`` format as provided by cp2kdata (dpdata's own reader
returns no virial for CP2K 2023 output). The virial is stress x volume:
virial (eV) = stress (GPa, positive = compression) x V (angstrom^3) / 160.2177.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import dpdata
import numpy as np
from ase import Atoms

from lpsflow.dft import Outcome, register
from lpsflow.launch import program_env
from lpsflow.settings import DFT_SCIENCE_KEYS

VALENCE = {"Li": 3, "P": 5, "S": 6, "O": 6, "Cl": 7, "Br": 7, "I": 7}  # GTH-PBE-q*
DISPERSION = {"none": None, "D3": "DFTD3", "D3BJ": "DFTD3(BJ)"}
INPUT = "cp2k.inp"
OUTPUT = "cp2k.out"

#: settings keys that define the label; everything else only decides how it is computed
PHYSICS_KEYS = DFT_SCIENCE_KEYS["cp2k"]


def input_text(atoms: Atoms, settings: dict, robust: bool = False) -> str:
    """CP2K ENERGY_FORCE input with analytical stress for ``atoms``."""
    s = settings
    scf = s["scf"]
    max_scf = scf["max_scf"] * (scf["robust_factor"] if robust else 1)
    alpha = scf["robust_alpha"] if robust else scf["mixing_alpha"]
    n_elec = sum(VALENCE[el] for el in atoms.get_chemical_symbols())
    added_mos = max(10, int(0.2 * n_elec / 2))
    kinds = "\n".join(
        f"    &KIND {el}\n      BASIS_SET {s['basis']}\n"
        f"      POTENTIAL {s['potential']}\n    &END KIND"
        for el in sorted(set(atoms.get_chemical_symbols()))
    )
    coords = "\n".join(
        f"      {el} {x:.8f} {y:.8f} {z:.8f}"
        for el, (x, y, z) in zip(atoms.get_chemical_symbols(), atoms.positions, strict=True)
    )
    cell = "\n".join(
        f"      {name} {v[0]:.8f} {v[1]:.8f} {v[2]:.8f}"
        for name, v in zip("ABC", np.asarray(atoms.cell), strict=True)
    )
    vdw = ""
    if DISPERSION[s["dispersion"]]:
        vdw = f"""
      &VDW_POTENTIAL
        POTENTIAL_TYPE PAIR_POTENTIAL
        &PAIR_POTENTIAL
          TYPE {DISPERSION[s["dispersion"]]}
          PARAMETER_FILE_NAME dftd3.dat
          REFERENCE_FUNCTIONAL {s["functional"]}
        &END PAIR_POTENTIAL
      &END VDW_POTENTIAL"""
    return f"""&GLOBAL
  PROJECT label
  RUN_TYPE ENERGY_FORCE
  PRINT_LEVEL MEDIUM
&END GLOBAL
&FORCE_EVAL
  METHOD Quickstep
  STRESS_TENSOR ANALYTICAL
  &DFT
    BASIS_SET_FILE_NAME {s["basis_file"]}
    POTENTIAL_FILE_NAME {s["potential_file"]}
    &MGRID
      CUTOFF {s["cutoff"]}
      REL_CUTOFF {s["rel_cutoff"]}
    &END MGRID
    &QS
      EPS_DEFAULT {s["eps_default"]:.1E}
    &END QS
    &SCF
      SCF_GUESS ATOMIC
      EPS_SCF {s["eps_scf"]:.1E}
      MAX_SCF {max_scf}
      ADDED_MOS {added_mos}
      &SMEAR ON
        METHOD FERMI_DIRAC
        ELECTRONIC_TEMPERATURE [K] {s["smearing_temperature"]}
      &END SMEAR
      &DIAGONALIZATION
        ALGORITHM STANDARD
      &END DIAGONALIZATION
      &MIXING
        METHOD BROYDEN_MIXING
        ALPHA {alpha}
        NBROYDEN {scf["nbroyden"]}
      &END MIXING
    &END SCF
    &XC
      &XC_FUNCTIONAL {s["functional"]}
      &END XC_FUNCTIONAL{vdw}
    &END XC
  &END DFT
  &SUBSYS
    &CELL
{cell}
      PERIODIC XYZ
    &END CELL
    &COORD
{coords}
    &END COORD
{kinds}
  &END SUBSYS
  &PRINT
    &FORCES ON
    &END FORCES
    &STRESS_TENSOR ON
    &END STRESS_TENSOR
  &END PRINT
&END FORCE_EVAL
"""


def classify(output: Path, returncode: int | None, timed_out: bool) -> str:
    """Failure reason read from a CP2K output, or "" if the run looks complete.

    The exit status alone is not trusted: CP2K 2023 exits 0 and prints forces after an
    unconverged SCF.
    """
    if timed_out:
        return "timeout"
    if not output.exists() or output.stat().st_size == 0:
        return f"crash: no output (exit code {returncode})"
    text = output.read_text(errors="replace")
    if "SCF run NOT converged" in text:
        return "scf_not_converged"
    if "PROGRAM ENDED AT" not in text:
        abort = [ln.strip(" *") for ln in text.splitlines() if "ABORT" in ln]
        detail = f": {abort[-1]}" if abort else ""
        return f"crash: exit code {returncode}, output ends early{detail}"
    if returncode not in (0, None):
        return f"crash: exit code {returncode}"
    if "ATOMIC FORCES in [a.u.]" not in text or "STRESS| Analytical stress tensor" not in text:
        return "incomplete: forces or stress missing"
    return ""


def parse(output: Path, atoms: Atoms) -> tuple[dpdata.LabeledSystem | None, str]:
    """Labelled frame from a complete CP2K output, checked against the frame sent."""
    system = dpdata.LabeledSystem(str(output), fmt="cp2k/output")
    if len(system) != 1:
        return None, f"parse: {len(system)} frames in output"
    if "virials" not in system.data:
        return None, "parse: no virial in output"
    if not np.allclose(system["coords"][0], atoms.positions, atol=1e-4):
        return None, "parse: coordinates differ from the frame sent"
    values = [system["energies"], system["forces"], system["virials"]]
    if not all(np.all(np.isfinite(v)) for v in values):
        return None, "non_finite: energy, forces or virial"
    return system, ""


@register("cp2k")
class Cp2k:
    """CP2K Quickstep single points (GPW, GTH pseudopotentials, smearing, Broyden mixing)."""

    def __init__(self, settings: dict, threads: int = 1):
        self.settings = settings
        self.threads = threads

    def physics(self) -> dict:
        return {"engine": "cp2k", **{k: self.settings[k] for k in PHYSICS_KEYS}}

    def command(self) -> list[str]:
        return shlex.split(self.settings["command"].format(threads=self.threads))

    def run(self, atoms: Atoms, workdir: Path, attempt: int) -> Outcome:
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / INPUT).write_text(input_text(atoms, self.settings, robust=attempt > 0))
        output = workdir / OUTPUT
        output.unlink(missing_ok=True)  # CP2K appends to an existing output file
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", str(self.threads))
        data_dir = self.settings.get("data_dir")
        if data_dir:
            env["CP2K_DATA_DIR"] = str(data_dir)
        argv = [*self.command(), "-i", INPUT, "-o", OUTPUT]
        env = program_env(argv, env)
        start = time.monotonic()
        timed_out, returncode = False, None
        with open(workdir / "stdout.txt", "w") as log:
            proc = subprocess.Popen(
                argv,
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
            try:
                returncode = proc.wait(timeout=self.settings["timeout_s"])
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        wall = time.monotonic() - start
        for scratch in workdir.glob("*.wfn*"):
            scratch.unlink()
        reason = classify(output, returncode, timed_out)
        system = None
        if not reason:
            system, reason = parse(output, atoms)
        return Outcome(system, reason, wall, returncode, {"robust": attempt > 0})
