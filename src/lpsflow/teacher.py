"""Ground truth of a teacher-labelled campaign: MD with the teacher potential itself.

The run mirrors the DeePMD production run of :mod:`lpsflow.production`: the same glass,
velocities drawn at the temperature, then (with ``npt_steps``) isotropic NPT at the production
pressure, half to relax and half to average the box, and the box set to the mean edge lengths,
so that the teacher runs at its own density as the DP runs at the DP's; then NVT with a
Nose-Hoover chain of 3 thermostats and a damping time of 100 DP time steps (LAMMPS ``fix nvt ...
$(100*dt)`` is a chain of 3 as well, here ASE's ``NoseHooverChainNVT``; the NPT stage uses
ASE's ``IsotropicMTKNPT``, the same MTK equations as LAMMPS ``fix npt ... iso`` with its
barostat damping of 1000 DP time steps; the teacher's own step may be longer), equilibration,
then unwrapped Li positions recorded every ``dump_every`` steps in a LAMMPS text dump, so that
:func:`lpsflow.transport.msd_from_dump` analyses both runs with the same code. Units: K, fs,
angstrom, bar; speed in atom-steps per second.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
from ase import Atoms, units

from lpsflow.dft.mlip import to_system
from lpsflow.evaluation import errors

#: the NPT stage stops with an error if the volume leaves [1/r, r] x its start (as in
#: :data:`lpsflow.production.MAX_VOLUME_RATIO`)
MAX_VOLUME_RATIO = 2.0

LOOP_TIME = re.compile(r"Loop time of ([0-9.eE+-]+) on \d+ procs for (\d+) steps with (\d+) atoms")


def write_dump_frame(fh, step: int, atoms: Atoms, select: np.ndarray, type_map: list[str]) -> None:
    """One LAMMPS ``custom`` dump frame (id type xu yu zu) of the atoms in ``select``.

    Positions are written as ASE holds them during MD (never wrapped), i.e. unwrapped.
    """
    cell = np.asarray(atoms.cell)
    if not np.allclose(cell, np.diag(np.diag(cell))):
        raise ValueError("teacher MD dump: only orthorhombic cells are supported")
    pos = atoms.positions[select]
    types = [type_map.index(s) + 1 for s in np.asarray(atoms.get_chemical_symbols())[select]]
    lines = [
        "ITEM: TIMESTEP",
        str(step),
        "ITEM: NUMBER OF ATOMS",
        str(len(pos)),
        "ITEM: BOX BOUNDS pp pp pp",
        *(f"0.0 {cell[i, i]:.10f}" for i in range(3)),
        "ITEM: ATOMS id type xu yu zu",
        *(
            f"{i + 1} {t} {x:.6f} {y:.6f} {z:.6f}"
            for i, t, (x, y, z) in zip(np.flatnonzero(select), types, pos, strict=True)
        ),
    ]
    fh.write("\n".join(lines) + "\n")


def run_teacher_md(
    glass: Atoms,
    calculator,
    temperature: float,
    *,
    timestep_fs: float,
    equilibration_steps: int,
    steps: int,
    dump_every: int,
    seed: int,
    dump_path: str | Path,
    type_map: list[str],
    final_path: str | Path | None = None,
    species: str = "Li",
    test_path: str | Path | None = None,
    test_frames: int = 0,
    npt_steps: int = 0,
    pressure_bar: float = 1.0,
    damping_fs: tuple[float, float] | None = None,
) -> dict:
    """NVT MD of ``glass`` with ``calculator`` at ``temperature`` (K); Li dump to ``dump_path``.

    With ``npt_steps`` of 2 or more, the NVT runs in the mean box of an NPT stage at
    ``pressure_bar`` first (:func:`npt_to_mean_box`), as the DP production runs do.
    ``damping_fs``: thermostat and barostat damping times (fs); None = 100 and 1000 time steps
    (the DP runs' damping at the same step; pass the DP runs' times when the steps differ).

    The whole cell at the end is written to ``final_path`` (extxyz), if given.
    ``test_frames`` whole-cell frames, evenly spaced over the recorded run, are written with
    the teacher's energy, forces and stress to ``test_path`` (extxyz): a fixed test set, the
    same for every iteration's models (:func:`errors_on_test_set`).
    Returns the measured speed: wall seconds of the dynamics and atom-steps per second
    (model loading excluded, as LAMMPS' "Loop time" excludes set-up).
    """
    from ase.md.nose_hoover_chain import NoseHooverChainNVT
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation

    atoms = glass.copy()
    atoms.calc = calculator
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=np.random.default_rng(seed))
    Stationary(atoms)
    ZeroRotation(atoms)
    dt = timestep_fs * units.fs
    start = time.monotonic()
    npt = {}
    tdamp, pdamp = (100 * dt, 1000 * dt) if damping_fs is None else np.array(damping_fs) * units.fs
    if npt_steps >= 2:
        npt = npt_to_mean_box(atoms, temperature, pressure_bar, npt_steps, dt, (tdamp, pdamp))
    md = NoseHooverChainNVT(atoms, timestep=dt, temperature_K=temperature, tdamp=tdamp, tchain=3)
    select = np.array(atoms.get_chemical_symbols()) == species
    n_blocks = steps // dump_every
    test_blocks = spaced_blocks(n_blocks, test_frames if test_path is not None else 0)
    tests = []
    md.run(equilibration_steps)
    temps = []
    with open(dump_path, "w") as fh:
        write_dump_frame(fh, 0, atoms, select, type_map)
        for block in range(n_blocks):
            md.run(dump_every)
            temps.append(atoms.get_temperature())
            write_dump_frame(fh, (block + 1) * dump_every, atoms, select, type_map)
            if block in test_blocks:
                tests.append(labelled_copy(atoms))
    wall = time.monotonic() - start
    if test_path is not None:
        from ase.io import write

        write(test_path, tests, format="extxyz")
    if final_path is not None:  # whole cell at the end of the run, wrapped (for its structure)
        from ase.io import write

        last = atoms.copy()
        last.wrap()
        last.info.update(glass.info, temperature_K=temperature)
        write(final_path, last, format="extxyz")
    n_steps = (npt_steps if npt else 0) + equilibration_steps + (steps // dump_every) * dump_every
    return {
        "engine": "teacher",
        "n_atoms": len(atoms),
        "md_steps": int(n_steps),
        "md_wall_s": wall,
        "atom_steps_per_s": len(atoms) * n_steps / wall if wall > 0 else float("nan"),
        "mean_temperature_K": float(np.mean(temps)) if temps else float("nan"),
        "start_volume_A3": float(glass.get_volume()),
        "volume_A3": float(atoms.get_volume()),  # of the NVT run
        **npt,
    }


def npt_to_mean_box(
    atoms: Atoms,
    temperature: float,
    pressure_bar: float,
    steps: int,
    timestep: float,
    damping: tuple[float, float] | None = None,
) -> dict:
    """Isotropic MTK NPT of ``atoms`` (calculator and velocities set) for ``steps``: the first
    half relaxes, the second is averaged (``damping``: thermostat and barostat damping times in
    ASE units; None = 100 and 1000 x ``timestep``); then the cell is scaled to the mean edge lengths
    (positions scaled with it), as :func:`lpsflow.production._npt_to_mean_box` does in LAMMPS.

    Raises ``RuntimeError`` if the volume leaves [1/r, r] x the start (r =
    :data:`MAX_VOLUME_RATIO`): a collapsing or exploding box is a failed run, not a result.
    Returns the mean NPT volume (A^3) and mean instantaneous pressure (GPa) of the averaged half.
    """
    from ase.md.nose_hoover_chain import IsotropicMTKNPT

    md = IsotropicMTKNPT(
        atoms,
        timestep=timestep,
        temperature_K=temperature,
        pressure_au=pressure_bar * units.bar,
        tdamp=100 * timestep if damping is None else damping[0],
        pdamp=1000 * timestep if damping is None else damping[1],
    )
    v0 = atoms.get_volume()
    lengths, pressures = [], []

    def check() -> None:
        ratio = atoms.get_volume() / v0
        if not 1 / MAX_VOLUME_RATIO <= ratio <= MAX_VOLUME_RATIO:
            raise RuntimeError(
                f"teacher NPT at {temperature:g} K: volume {ratio:.2f} x the start after "
                f"{md.nsteps} steps; the box collapses or explodes"
            )

    def record() -> None:
        lengths.append(atoms.cell.lengths())
        stress = atoms.get_stress(include_ideal_gas=True, voigt=False)
        pressures.append(-np.trace(stress) / 3 / units.GPa)

    md.attach(check, interval=10)
    md.run(steps - steps // 2)
    md.attach(record, interval=1)
    md.run(steps // 2)
    check()
    mean = np.mean(lengths, axis=0)
    atoms.set_cell(atoms.cell.array * (mean / atoms.cell.lengths())[:, None], scale_atoms=True)
    return {
        "npt_steps": int(steps),
        "npt_volume_A3": float(atoms.get_volume()),  # of the mean box
        "npt_pressure_GPa": float(np.mean(pressures)),
        "pressure_bar": float(pressure_bar),
    }


def spaced_blocks(n_blocks: int, n_frames: int) -> set[int]:
    """Indices of ``n_frames`` blocks evenly spaced over ``n_blocks``, the last one included."""
    if n_frames <= 0 or n_blocks <= 0:
        return set()
    n = min(n_frames, n_blocks)
    return {n_blocks - 1 - (k * n_blocks) // n for k in range(n)}


def labelled_copy(atoms: Atoms) -> Atoms:
    """A copy of ``atoms`` (wrapped) carrying its calculator's energy, forces and stress."""
    from ase.calculators.singlepoint import SinglePointCalculator

    energy = float(atoms.get_potential_energy())
    forces = np.array(atoms.get_forces(), float)
    stress = np.array(atoms.get_stress(voigt=True), float)
    frame = Atoms(
        atoms.get_chemical_symbols(), positions=atoms.positions, cell=atoms.cell, pbc=True
    )
    frame.wrap()
    frame.calc = SinglePointCalculator(frame, energy=energy, forces=forces, stress=stress)
    return frame


def read_test_set(path: str | Path):
    """The teacher frames of ``path`` as one dpdata LabeledSystem (virial = -stress x V)."""
    from ase.io import read

    system = None
    for atoms in read(path, ":", format="extxyz"):
        frame = to_system(
            atoms,
            atoms.get_potential_energy(),
            atoms.get_forces(),
            atoms.get_stress(voigt=True),
        )
        if system is None:
            system = frame
        else:
            system.append(frame)
    return system


def errors_on_test_set(
    graphs: list[str], n_models: int, test_sets: list[str], test_runs: list[dict]
) -> pd.DataFrame:
    """RMSE of every model on every teacher test set, one row per model and set.

    ``graphs``: every iteration's ensemble in order (iteration 0's ``n_models`` members, then
    iteration 1's, ...); ``test_sets``: frames files, ``test_runs`` what each is
    (composition, temperature_K). Columns: iteration, model, composition, temperature_K,
    frames, rmse_e (eV/atom), rmse_f (eV/angstrom), rmse_v (eV/atom), and bias_p_GPa /
    bias_p_err_GPa: the model's static pressure minus the teacher's on the same frames (the
    teacher's own NVT box), mean and standard error over frames. A positive bias is a DP that
    pushes outwards where the teacher does not: its NPT box comes out larger.
    """
    systems = {}
    for path, run in zip(test_sets, test_runs, strict=True):
        system = read_test_set(path)
        if system is not None:
            systems[(run["composition"], float(run["temperature_K"]))] = system
    rows = []
    for k, graph in enumerate(graphs):
        iteration, model = divmod(k, n_models)
        for (comp, temp), system in systems.items():
            rows.append(
                {
                    "iteration": iteration,
                    "model": model,
                    "composition": comp,
                    "temperature_K": temp,
                    **errors(str(graph), [system], pressure=True),
                }
            )
    keys = ["iteration", "model", "composition", "temperature_K"]
    if not rows:
        return pd.DataFrame(
            columns=[*keys, "frames", "rmse_e", "rmse_f", "rmse_v", "bias_p_GPa", "bias_p_err_GPa"]
        )
    return pd.DataFrame(rows).sort_values(keys).reset_index(drop=True)


def lammps_speed(log_path: str | Path) -> dict:
    """Atom-steps per second of a LAMMPS run from the "Loop time" lines of its log."""
    text = Path(log_path).read_text(errors="replace")
    wall = atom_steps = 0.0
    n_atoms = 0
    for seconds, n_steps, atoms in LOOP_TIME.findall(text):
        wall += float(seconds)
        atom_steps += int(n_steps) * int(atoms)
        n_atoms = int(atoms)
    return {
        "engine": "deepmd",
        "n_atoms": n_atoms,
        "md_steps": int(atom_steps / n_atoms) if n_atoms else 0,
        "md_wall_s": wall,
        "atom_steps_per_s": atom_steps / wall if wall > 0 else float("nan"),
    }


Z95 = 1.959963984540054  # two-sided 95 % quantile of the normal distribution


def compare(dp: pd.DataFrame, teacher: pd.DataFrame) -> pd.DataFrame:
    """Teacher vs DP per composition and temperature: D (cm^2/s) and sigma (S/cm).

    Both tables have the columns of the transport json files (``composition``,
    ``temperature_K``, ``D_cm2_s``, ``D_err_cm2_s``, ``sigma_S_cm``, ``sigma_err_S_cm``; the
    errors are standard deviations). The DP value agrees when it lies within the combined
    95 % interval of the difference, ``|DP - teacher| <= 1.96 sqrt(err_DP^2 + err_teacher^2)``.
    With ``volume_A3`` in both, ``volume_ratio`` is DP / teacher cell volume: each runs in its
    own mean NPT box of the temperature, so the ratio tests the DP's equation of state.
    ``{q}_ratio`` is DP / teacher with log-normal 95 % bounds ``{q}_ratio_lo95``/``_hi95``:
    ln ratio -/+ 1.96 sqrt(s_DP^2 + s_teacher^2), s = sqrt(ln(1 + (err / value)^2)), positive
    by construction (NaN where a value is not positive). :func:`pooled_ratio` pools the points.
    """

    keys = ["composition", "temperature_K"]
    cols = ["D_cm2_s", "D_err_cm2_s", "sigma_S_cm", "sigma_err_S_cm"]
    if "volume_A3" in dp and "volume_A3" in teacher:  # sigma ~ (Li per volume) x D
        cols.append("volume_A3")
    merged = pd.merge(dp[keys + cols], teacher[keys + cols], on=keys, suffixes=("_dp", "_teacher"))
    if "volume_A3" in cols:
        merged["volume_ratio"] = merged["volume_A3_dp"] / merged["volume_A3_teacher"]
    for q in ("D", "sigma"):
        unit = "cm2_s" if q == "D" else "S_cm"
        a, b = merged[f"{q}_{unit}_dp"], merged[f"{q}_{unit}_teacher"]
        half = Z95 * np.hypot(merged[f"{q}_err_{unit}_dp"], merged[f"{q}_err_{unit}_teacher"])
        merged[f"{q}_ratio"] = a / b
        with np.errstate(divide="ignore", invalid="ignore"):
            s_a = np.sqrt(np.log1p((merged[f"{q}_err_{unit}_dp"] / a) ** 2))
            s_b = np.sqrt(np.log1p((merged[f"{q}_err_{unit}_teacher"] / b) ** 2))
            width = Z95 * np.hypot(s_a, s_b)
            ok = (a > 0) & (b > 0)
            merged[f"{q}_ratio_lo95"] = np.where(ok, a / b * np.exp(-width), np.nan)
            merged[f"{q}_ratio_hi95"] = np.where(ok, a / b * np.exp(width), np.nan)
        merged[f"{q}_halfwidth95"] = half
        merged[f"{q}_agrees"] = (a - b).abs() <= half
    return merged.sort_values(keys).reset_index(drop=True)


def _log_variance(table: pd.DataFrame, q: str, unit: str, side: str) -> np.ndarray:
    """ln(1 + (err / value)^2) of ``q`` on ``side`` (dp, teacher): the log-space variance of
    a log-normal with that mean and standard deviation; NaN where unknown."""
    value, err = f"{q}_{unit}_{side}", f"{q}_err_{unit}_{side}"
    if value not in table or err not in table:
        return np.full(len(table), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log1p((table[err].to_numpy(float) / table[value].to_numpy(float)) ** 2)


def pooled_ratio(table: pd.DataFrame) -> pd.DataFrame:
    """The DP / teacher bias over all compared points, for D and for sigma.

    Per quantity: the geometric mean of the point ratios, exp(mean ln ratio), with a 95 %
    Student t-interval on the mean log ratio over the n points with a positive ratio:
    mean -/+ t(0.975, n - 1) se, then exp (the bounds are positive). The standard error se is
    the larger of the points' scatter, sd(ln ratio, ddof 1) / sqrt(n), and their own errors,
    sqrt(sum s_i^2) / n with s_i^2 = ln(1 + (err_DP/DP)^2) + ln(1 + (err_T/T)^2): points that
    happen to agree more closely than their errors allow do not make the bias look sharper,
    and a scatter larger than the errors (a bias that changes with temperature) widens it.
    ``verdict``: ``DP low`` (interval below 1), ``DP high`` (above 1) or ``no bias
    resolved``; NaN bounds with fewer than 2 points. ``table`` is :func:`compare`'s.
    """
    from scipy import stats

    rows = []
    for q in ("D", "sigma"):
        unit = "cm2_s" if q == "D" else "S_cm"
        if f"{q}_ratio" not in table:
            table = table.assign(**{f"{q}_ratio": np.nan})
        r = table[f"{q}_ratio"].to_numpy(float)
        ok = np.isfinite(r) & (r > 0)
        logs = np.log(r[ok])
        s2 = (_log_variance(table, q, unit, "dp") + _log_variance(table, q, unit, "teacher"))[ok]
        n = len(logs)
        mean = float(logs.mean()) if n else np.nan
        sd = float(logs.std(ddof=1)) if n > 1 else np.nan
        own = float(np.sqrt(np.nansum(s2)) / n) if n and np.isfinite(s2).any() else 0.0
        se = max(sd / np.sqrt(n), own) if n > 1 else np.nan
        half = float(stats.t.ppf(0.975, n - 1)) * se if n > 1 else np.nan
        lo, hi = np.exp(mean - half), np.exp(mean + half)
        verdict = "DP low" if hi < 1 else "DP high" if lo > 1 else "no bias resolved"
        rows.append(
            {
                "quantity": q,
                "n_points": n,
                "pooled_ratio": float(np.exp(mean)),
                "pooled_ratio_lo95": float(lo),
                "pooled_ratio_hi95": float(hi),
                "sd_ln_ratio": sd,
                "se_scatter": sd / np.sqrt(n) if n > 1 else np.nan,
                "se_errors": own,
                "verdict": verdict if n > 1 else "too few points",
                "method": "geometric mean of DP/teacher; Student t-interval on mean ln ratio, "
                "se = max(scatter, own errors)",
            }
        )
    return pd.DataFrame(rows)
