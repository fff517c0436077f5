"""CP2K engine: input writing, running with a time limit, failure classification, parsing.

Parsing uses dpdata's ``cp2k/output`` format as provided by cp2kdata (dpdata's own reader
returns no virial for CP2K 2023 output). The virial is stress x volume:
virial (eV) = stress (GPa, positive = compression) x V (angstrom^3) / 160.2177.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from ase import Atoms

from lpsflow.dft.base import (
    DFT_SCIENCE_KEYS,
    AimdSettings,
    Outcome,
    SetupError,
    physics_of,
    register,
)
from lpsflow.dft.cp2k_input import abort_message, apply_overrides, overrides_text
from lpsflow.dft.cp2k_md import md_input, parse_run, run_outcome
from lpsflow.launch import LAUNCHERS, program_env

if TYPE_CHECKING:
    import dpdata


VALENCE = {"Li": 3, "P": 5, "S": 6, "O": 6, "Cl": 7, "Br": 7, "I": 7}  # GTH-PBE-q*
DISPERSION = {"none": None, "D3": "DFTD3", "D3BJ": "DFTD3(BJ)"}
INPUT = "cp2k.inp"
OUTPUT = "cp2k.out"

#: settings keys that define the label; everything else only decides how it is computed
PHYSICS_KEYS = DFT_SCIENCE_KEYS["cp2k"]
#: settings that decide whether a frame fails, not its label (a stored failure is retried
#: when they change)
STRATEGY_KEYS = ("scf", "timeout_s")
#: printed when the first SCF starts; an abort before it is a failure of the setup
SCF_STARTED = "SCF WAVEFUNCTION OPTIMIZATION"


def basis_of(settings: dict, element: str) -> str:
    """Basis set of ``element``: ``dft.basis`` is one name for every element, or a mapping
    element -> name."""
    basis = settings["basis"]
    return basis[element] if isinstance(basis, dict) else basis


def input_text(atoms: Atoms, settings: dict, robust: bool = False) -> str:
    """CP2K ENERGY_FORCE input with analytical stress for ``atoms``; ``dft.overrides`` merged
    into its &DFT section last (lpsflow.dft.cp2k_input)."""
    s = settings
    scf = s["scf"]
    max_scf = scf["max_scf"] * (scf["robust_factor"] if robust else 1)
    alpha = scf["robust_alpha"] if robust else scf["mixing_alpha"]
    n_elec = sum(VALENCE[el] for el in atoms.get_chemical_symbols())
    added_mos = max(10, int(0.2 * n_elec / 2))
    kinds = "\n".join(
        f"    &KIND {el}\n      BASIS_SET {basis_of(s, el)}\n"
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
    text = f"""&GLOBAL
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
    return apply_overrides(text, s.get("overrides"))


def setup_problem(
    output: Path, stdout: Path, returncode: int | None, timed_out: bool, settings: dict
) -> SetupError | None:
    """A :class:`SetupError` if this run shows a broken setup rather than a bad frame.

    Setup: CP2K aborted by itself before its first SCF step (data file, basis or
    pseudopotential not found, input rejected), or the command ended with an ordinary
    error status before CP2K wrote any output (launcher, module, licence). Never setup: a
    time limit, a run killed by a signal (exit code above 128 or negative: out of memory,
    a node failure), or an abort after the SCF started.
    """
    if timed_out or returncode is None or returncode == 0:
        return None
    if returncode < 0 or returncode > 128:
        return None
    evidence = str(output)
    log_tail = ""
    if stdout.exists():
        log_lines = [ln.strip() for ln in stdout.read_text(errors="replace").splitlines()]
        log_tail = " | ".join(ln for ln in log_lines if ln)[-400:]
    text = output.read_text(errors="replace") if output.exists() else ""
    if not text.strip():
        what = {126: "is not executable", 127: "was not found"}.get(returncode, "failed")
        return SetupError(
            "dft.command",
            f"the command {settings['command']!r} {what} (exit code {returncode}) before CP2K "
            f"wrote any output (launcher, module or licence?): {log_tail or 'no message'}",
            str(stdout),
        )
    if SCF_STARTED in text or "[ABORT]" not in text:
        return None
    msg = abort_message(text)
    low = msg.lower()
    if "cannot be opened" in low or "could not open" in low or "does not exist" in low:
        name = re.search(r"<([^>]+)>", msg)
        name = name.group(1) if name else "?"
        which = next(
            (k for k in ("basis_file", "potential_file") if Path(settings[k]).name == name), ""
        )
        if Path(name).is_absolute():
            key = f"dft.{which or 'basis_file'}"
            cause = f"CP2K cannot open the data file {name}"
        else:
            key = "dft.data_dir"
            folder = re.search(r"Data directory path:\s*(\S+)", msg)
            folder = folder.group(1) if folder else settings.get("data_dir") or "CP2K's default"
            cause = (
                f"CP2K cannot open the data file {name} in its data directory {folder}: set "
                f"dft.data_dir to the folder that holds it"
                + (f" (or give an absolute dft.{which})" if which else "")
            )
        return SetupError(key, f"{cause}. CP2K: {msg}", evidence)
    if "basis set" in low and "not found" in low:
        return SetupError(
            "dft.basis",
            f"basis {settings['basis']!r} not found in dft.basis_file {settings['basis_file']!r} "
            f"(dft.preset may replace the basis). CP2K: {msg}",
            evidence,
        )
    if "potential" in low and "not found" in low:
        return SetupError(
            "dft.potential",
            f"pseudopotential {settings['potential']!r} not found in dft.potential_file "
            f"{settings['potential_file']!r}. CP2K: {msg}",
            evidence,
        )
    return SetupError("dft", f"CP2K aborted before its first SCF step: {msg}", evidence)


def program_version(text: str) -> str:
    """CP2K's version number ("2023.1") from an output or ``--version`` text, or ""."""
    found = re.search(r"CP2K version (\S+)", text)
    return found.group(1) if found else ""


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
        abort = abort_message(text)
        detail = f": {abort}" if abort else ""
        return f"crash: exit code {returncode}, output ends early{detail}"
    if returncode not in (0, None):
        return f"crash: exit code {returncode}"
    if "ATOMIC FORCES in [a.u.]" not in text or "STRESS| Analytical stress tensor" not in text:
        return "incomplete: forces or stress missing"
    return ""


def parse(output: Path, atoms: Atoms) -> tuple[dpdata.LabeledSystem | None, str]:
    """Labelled frame from a complete CP2K output, checked against the frame sent."""
    import dpdata  # here: importing it loads every plugin (see lpsflow.dft)

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
        self._version: str | None = None

    def physics(self) -> dict:
        return {"engine": "cp2k", **physics_of(self.settings, PHYSICS_KEYS)}

    def theory(self) -> dict:
        """Functional, dispersion (none, D3, D3BJ), basis (``El:basis`` pairs if given per
        element), pseudopotential, cutoff and rel_cutoff (Ry); ``overrides`` (the user's
        changes to the &DFT section, one ``SECTION/KEYWORD=value`` list) when there are any."""
        s = self.settings
        basis = s["basis"]
        if isinstance(basis, dict):
            basis = " ".join(f"{el}:{name}" for el, name in sorted(basis.items()))
        out = {
            "functional": s["functional"],
            "dispersion": s["dispersion"],
            "basis": basis,
            "potential": s["potential"],
            "cutoff": s["cutoff"],
            "rel_cutoff": s["rel_cutoff"],
        }
        if s.get("overrides"):
            out["overrides"] = overrides_text(s["overrides"])
        return out

    def strategy(self) -> dict:
        return {k: self.settings[k] for k in STRATEGY_KEYS if k in self.settings}

    def version(self) -> str:
        """CP2K version from ``<executable> --version`` (the command without its launcher);
        asked once, "" if it cannot be told."""
        if self._version is None:
            argv = self.command()
            exe = next((a for a in argv if "cp2k" in Path(a).name), None)
            if exe is None:
                exe = next((a for a in argv if Path(a).name not in LAUNCHERS), argv[0])
            try:
                proc = subprocess.run(
                    [exe, "--version"],
                    capture_output=True,
                    text=True,
                    timeout=120,
                    env=program_env([exe], dict(os.environ)),
                )
                self._version = program_version(proc.stdout)
            except (OSError, subprocess.SubprocessError):
                self._version = ""
        return self._version

    def command(self) -> list[str]:
        """``dft.command`` with ``{threads}`` (OpenMP threads) and ``{ranks}`` (MPI ranks,
        ``dft.mpi_ranks``: a launcher inside a Slurm job needs them, as the job step does
        not pass the job's task count to an inner srun) filled in."""
        ranks = int(self.settings.get("mpi_ranks", 1))
        return shlex.split(self.settings["command"].format(threads=self.threads, ranks=ranks))

    def run(self, atoms: Atoms, workdir: Path, attempt: int) -> Outcome:
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / INPUT).write_text(input_text(atoms, self.settings, robust=attempt > 0))
        output = workdir / OUTPUT
        output.unlink(missing_ok=True)  # CP2K appends to an existing output file
        returncode, timed_out, wall = self._launch(workdir, self._env(), self.settings["timeout_s"])
        for scratch in workdir.glob("*.wfn*"):
            scratch.unlink()
        problem = setup_problem(
            output, workdir / "stdout.txt", returncode, timed_out, self.settings
        )
        if problem is not None:
            raise problem
        reason = classify(output, returncode, timed_out)
        system = None
        if not reason:
            system, reason = parse(output, atoms)
        info = {"robust": attempt > 0}
        if output.exists():
            version = program_version(output.read_text(errors="replace")[:20000])
            if version:
                self._version = self._version or version
                info["program_version"] = version
        return Outcome(system, reason, wall, returncode, info)

    def _launch(self, workdir: Path, env: dict, timeout_s: float) -> tuple:
        """Run CP2K on ``workdir``'s input; (returncode, timed_out, wall seconds). A program
        that cannot be started is a broken setup (SetupError naming dft.command)."""
        argv = [*self.command(), "-i", INPUT, "-o", OUTPUT]
        env = program_env(argv, env)
        start = time.monotonic()
        timed_out, returncode = False, None
        with open(workdir / "stdout.txt", "w") as log:
            try:
                proc = subprocess.Popen(
                    argv,
                    cwd=workdir,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            except OSError as err:
                raise SetupError(
                    "dft.command", f"cannot start {argv[0]!r}: {err.strerror or err}"
                ) from err
            try:
                returncode = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        return returncode, timed_out, time.monotonic() - start

    def _env(self) -> dict:
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", str(self.threads))
        data_dir = self.settings.get("data_dir")
        if data_dir:
            env["CP2K_DATA_DIR"] = str(data_dir)
        return env

    def md_frames(self, atoms: Atoms, md: AimdSettings, workdir: Path) -> tuple:
        """An NVT AIMD run of ``atoms`` in ``workdir`` (time limit ``timeout_s`` x (steps +
        1)); (frames, why it stopped early or "", exit code, wall seconds): see
        :mod:`lpsflow.dft.cp2k_md`."""
        (workdir / INPUT).write_text(md_input(input_text(atoms, self.settings), md))
        timeout_s = self.settings["timeout_s"] * (md.steps + 1)
        returncode, timed_out, wall = self._launch(workdir, self._env(), timeout_s)
        for scratch in workdir.glob("*.wfn*"):
            scratch.unlink()
        reason = run_outcome(workdir / OUTPUT, returncode, timed_out)
        return parse_run(workdir, atoms, OUTPUT), reason, returncode, wall
