"""Production MD with the final model: a melt-quenched glass (or an NPT-relaxed crystal),
then at each temperature an NPT stage, NVT at its mean box, and the recorded NVT run.

The glass density is a result: the quench, an anneal and an averaging stage run at constant
pressure (``production.pressure``, bar); every run stops with an error if the box volume
leaves [1/2, 2] x its start (:data:`MAX_VOLUME_RATIO`). LAMMPS uses the compressed model
for the dynamics and the other members for the model deviation (``pair_style deepmd
compressed.pb m1.pb ... out_freq N``), recorded sparsely so that a run leaving the trusted
region is seen. Transport runs write binary DCD trajectories with unwrapped coordinates
(``dump dcd`` + ``dump_modify unwrap yes``, sorted by atom ID, in the atom order of
``conf.lmp``): ``li.dcd`` (Li group, every ``dump_every`` steps) and ``all.dcd`` (all atoms,
every ``dump_all_every`` steps; collective conductivity and the structure over the run).

MD that goes wrong (a LAMMPS error other than the box guard) is not raised: the scripts
turn LAMMPS' exit status into :func:`run_status`, and the run is untrusted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from ase import Atoms

from lpsflow.lammps import FS_TO_PS, header, run_lammps
from lpsflow.lammps_output import complete_dump, complete_model_devi, lammps_error, read_model_devi
from lpsflow.seeds import derive
from lpsflow.settings import GlassSettings, RunSettings
from lpsflow.structures import supercell_repeats
from lpsflow.transport import diffusive_check, read_dcd, tracer_msd

THERMO = "thermo_style    custom step temp pe etotal press vol density\n"


def production_cell(cell: Atoms, n_atoms: int) -> Atoms:
    """A sampled cell repeated to about ``n_atoms`` atoms (the melt erases the repetition)."""
    big = cell.repeat(supercell_repeats(cell, n_atoms))
    big.info.update(cell.info)
    return big


def _header(models: list[str], type_map: list[str], devi_every: int, timestep_fs: float) -> str:
    """The shared LAMMPS header (lpsflow.lammps) with thermo output of volume and density."""
    thermo = f"thermo          {devi_every}\n"
    return header(models, type_map, devi_every, timestep_fs) + THERMO + thermo


#: the run stops (LAMMPS fix halt, error) if the box volume leaves [1/r, r] x its start
MAX_VOLUME_RATIO = 2.0


def _guard(every: int) -> str:
    """Stop with an error if the box collapses or explodes (volume ratio to the start)."""
    r = MAX_VOLUME_RATIO
    return f"""variable        V equal vol
variable        V0 equal ${{V}}
variable        boxbad equal "(v_V > {r}*v_V0) || (v_V < v_V0/{r})"
fix             guard all halt {every} v_boxbad > 0.5 error hard message yes
variable        T equal temp
variable        rho equal density
variable        P equal press
variable        Lx equal lx
variable        Ly equal ly
variable        Lz equal lz
"""


def _npt_to_mean_box(
    temperature: float, pressure: float, barostat: str, steps: int, dt: float, log_every: int
) -> str:
    """NPT at ``temperature`` (K) and ``pressure`` (bar): half to relax, half averaged; then
    the box is set to the mean edge lengths (atoms remapped) for the NVT that follows.

    ``barostat`` is ``iso`` (glass) or ``aniso`` (crystal). Temperature, volume, density and
    pressure go to ``npt.dat`` every ``log_every`` steps; the final box to ``nvt_box.txt``.
    """
    relax, average = steps - steps // 2, steps // 2
    t, p = temperature, pressure
    return f"""fix             npt all npt temp {t} {t} {100 * dt} {barostat} {p} {p} {1000 * dt}
fix             nptlog all ave/time {log_every} 1 {log_every} v_T v_V v_rho v_P file npt.dat
run             {relax}
fix             meanbox all ave/time 1 1 1 v_Lx v_Ly v_Lz ave running
run             {average}
variable        sx equal f_meanbox[1]/lx
variable        sy equal f_meanbox[2]/ly
variable        sz equal f_meanbox[3]/lz
change_box      all x scale ${{sx}} y scale ${{sy}} z scale ${{sz}} remap
unfix           meanbox
unfix           nptlog
unfix           npt
print           "${{V}} ${{rho}}" file nvt_box.txt
"""


def melt_quench_input(
    models: list[str],
    type_map: list[str],
    settings: GlassSettings,
    crystal: bool = False,
    npt: bool = True,
) -> str:
    """Glass: melt at ``melt_temperature`` (``melt_steps``), quench linearly to ``quench_to``
    at ``quench_rate`` (K/ps), anneal there (``anneal_steps``) and set the box to the volume
    averaged over ``npt_steps`` more steps; every stage NPT at ``pressure`` (bar), so the
    density is a result of the model. Along the quench, temperature (K), volume (A^3),
    density (g/cm^3) and the thermostat's target temperature (K, the linear ramp), each
    averaged over blocks of ``devi_every`` steps, go to ``quench.dat`` (the model's Tg,
    :mod:`lpsflow.glass_transition`).

    Crystal (``crystal=True``): no melt; the cell is relaxed at ``quench_to`` and
    ``pressure`` (anisotropic NPT, same anneal and averaging). Writes ``glass.dump``.
    ``npt=False`` is the fallback after a failed NPT: every stage NVT at the start volume.
    Velocities are seeded with ``settings.seed``.
    """
    s, seed = settings, settings.seed
    dt = s.timestep_fs * FS_TO_PS
    t_melt, t_end, p = s.melt_temperature, s.quench_to, s.pressure
    every = s.devi_every
    tdamp, pdamp = 100 * dt, 1000 * dt
    barostat = "aniso" if crystal else "iso"
    ensemble = (
        (lambda t0, t1: f"npt temp {t0} {t1} {tdamp} {barostat} {p} {p} {pdamp}")
        if npt
        else (lambda t0, t1: f"nvt temp {t0} {t1} {tdamp}")
    )
    text = _header(models, type_map, every, s.timestep_fs) + _guard(every)
    if crystal:
        text += f"velocity        all create {t_end} {seed} dist gaussian mom yes rot yes\n"
    else:
        text += f"""velocity        all create {t_melt} {seed} dist gaussian mom yes rot yes
fix             melt all {ensemble(t_melt, t_melt)}
run             {s.melt_steps}
unfix           melt
fix             quench all {ensemble(t_melt, t_end)}
variable        Tset equal ramp({t_melt},{t_end})
fix             quenchlog all ave/time 1 {every} {every} v_T v_V v_rho v_Tset file quench.dat
run             {s.quench_steps}
unfix           quenchlog
unfix           quench
"""
    text += f"""fix             anneal all {ensemble(t_end, t_end)}
run             {s.anneal_steps}
unfix           anneal
"""
    if npt and s.npt_steps >= 2:
        text += _npt_to_mean_box(t_end, p, barostat, s.npt_steps, dt, every)
    else:
        text += 'print           "${V} ${rho}" file nvt_box.txt\n'
    return text + "write_dump      all custom glass.dump id type x y z modify sort id\n"


def transport_input(
    models: list[str],
    type_map: list[str],
    settings: RunSettings,
    temperature: float,
    crystal: bool = False,
    npt: bool = True,
) -> str:
    """At ``temperature``: NPT (``npt_steps``, box set to the mean), NVT equilibration, then
    the recorded NVT run: unwrapped Li positions every ``dump_every`` steps (``li.dcd``) and
    all atoms, unwrapped, every ``dump_all_every`` steps (``all.dcd``). ``npt=False`` (or
    ``npt_steps`` below 2) skips the NPT stage: NVT at the start volume. Velocities are
    seeded with ``settings.seed + int(temperature)``.
    """
    s, seed = settings, derive(settings.seed, temperature=temperature)
    dt = s.timestep_fs * FS_TO_PS
    li = type_map.index("Li") + 1
    every = s.devi_every
    text = (
        _header(models, type_map, every, s.timestep_fs)
        + _guard(every)
        + f"""group           li type {li}
velocity        all create {temperature} {seed} dist gaussian mom yes rot yes
"""
    )
    if npt and s.npt_steps >= 2:
        barostat = "aniso" if crystal else "iso"
        text += _npt_to_mean_box(temperature, s.pressure, barostat, s.npt_steps, dt, every)
    else:
        text += 'print           "${V} ${rho}" file nvt_box.txt\n'
    return (
        text
        + f"""fix             nvt all nvt temp {temperature} {temperature} {100 * dt}
run             {s.equilibration_steps}
reset_timestep  0
dump            li li dcd {s.dump_every} li.dcd
dump_modify     li unwrap yes
dump            all all dcd {s.dump_all_every} all.dcd
dump_modify     all unwrap yes
run             {s.steps}
write_restart   {RESTART}
"""
    )


#: restart file of a recorded run's last frame (positions, image flags, velocities, box and
#: thermostat state): an extension continues from it
RESTART = "final.restart"


def extension_input(
    models: list[str],
    type_map: list[str],
    settings: RunSettings,
    temperature: float,
    steps: int,
    restart: str | Path,
) -> str:
    """Continue a recorded NVT run at ``temperature`` (K) from its restart file for ``steps``
    more steps: same box, thermostat, dumps (``li.dcd``, ``all.dcd``, unwrapped; image flags
    carried over, so the coordinates continue) and deviation record; the step counter
    continues, so the first frame of each dump repeats the run's last frame. Writes a new
    ``final.restart``."""
    s = settings
    dt = s.timestep_fs * FS_TO_PS
    li = type_map.index("Li") + 1
    text = _header(models, type_map, s.devi_every, s.timestep_fs).replace(
        "read_data       conf.lmp\n", f"read_restart    {restart}\n"
    )
    return (
        text
        + f"""group           li type {li}
fix             nvt all nvt temp {temperature} {temperature} {100 * dt}
dump            li li dcd {s.dump_every} li.dcd
dump_modify     li unwrap yes
dump            all all dcd {s.dump_all_every} all.dcd
dump_modify     all unwrap yes
run             {steps}
write_restart   {RESTART}
"""
    )


def append_dcd(target: Path, extra: Path) -> int:
    """Append the frames of ``extra`` after its first one (the repeat of ``target``'s last
    frame) to ``target``, two DCD files of the same atoms written by LAMMPS (unit cell in every
    frame). The byte records are copied unchanged; the frame count in the header is updated.
    Returns the number of frames appended."""
    import struct

    from MDAnalysis.lib.formats.libdcd import DCDFile

    def layout(path: Path) -> tuple[int, int, int]:
        with DCDFile(str(path)) as f:
            n_atoms, n_frames = f.header["natoms"], f.n_frames
        frame = 56 + 3 * (8 + 4 * n_atoms)  # unit cell record + x, y, z records (bytes)
        return n_atoms, n_frames, path.stat().st_size - n_frames * frame

    n_atoms, n_target, head = layout(target)
    n_extra_atoms, n_extra, extra_head = layout(extra)
    if n_extra_atoms != n_atoms:
        raise ValueError(f"{extra}: {n_extra_atoms} atoms, {target} has {n_atoms}")
    frame = 56 + 3 * (8 + 4 * n_atoms)
    with open(extra, "rb") as src:
        src.seek(extra_head + frame)  # skip the repeated frame
        frames = src.read()
    with open(target, "r+b") as out:
        out.seek(0, 2)
        out.write(frames)
        out.seek(8)  # NSET: after the record marker (4 bytes) and "CORD"
        out.write(struct.pack("<i", n_target + n_extra - 1))
    return n_extra - 1


def append_model_devi(target: Path, extra: Path) -> None:
    """Append the records of ``extra`` whose step is past ``target``'s last one."""
    last = -1
    lines = target.read_text().splitlines() if target.exists() else []
    for line in reversed(lines):
        if line.strip() and not line.startswith("#"):
            last = int(float(line.split()[0]))
            break
    with open(target, "a") as out:
        for line in extra.read_text().splitlines() if extra.exists() else []:
            if line.strip() and not line.startswith("#") and int(float(line.split()[0])) > last:
                out.write(line + "\n")


def extension_ps(check: dict, run_ps: float, limit_ps: float, min_growth: float = 1.25) -> float:
    """How much longer (ps) to record a run after its diffusive check
    (:func:`lpsflow.transport.diffusive_check`): 0 when it is diffusive or ``run_ps`` has
    reached ``limit_ps``; otherwise up to the check's ``run_needed_ps`` (at least
    ``min_growth`` x the run, twice the run when the check gives no estimate longer than
    the run), capped at ``limit_ps``."""
    if check["diffusive"] or run_ps >= limit_ps:
        return 0.0
    needed = float(check.get("run_needed_ps", float("nan")))
    target = needed if np.isfinite(needed) and needed > run_ps else 2.0 * run_ps
    return float(min(max(target, min_growth * run_ps), limit_ps) - run_ps)


def diffusive_state(li_dcd: Path, frame_ps: float, check: dict) -> tuple[dict, float]:
    """The diffusive check of a recorded run (its Li DCD, one frame every ``frame_ps``) with
    the transport analysis' ``check`` settings (``fit_window``, ``beta_min``, ``msd_min_A2``;
    :meth:`lpsflow.settings.ProductionSettings.extension_check`), and the run's length (ps)."""
    window = tuple(check["fit_window"])
    tracer = tracer_msd(read_dcd(str(li_dcd)), frame_ps, window)
    result = diffusive_check(
        tracer["lags_ps"],
        tracer["msd_A2"],
        tracer["D_cm2_s"],
        window,
        check["beta_min"],
        check["msd_min_A2"],
    )
    return result, float(tracer["lags_ps"][-1])


def extend_until_diffusive(
    atoms: Atoms,
    make_input: Callable[[int, Path], str],
    type_map: list[str],
    workdir: Path,
    run: RunSettings,
    check: dict,
    log,
    max_segments: int = 8,
    **kw,
) -> dict:
    """Extend the recorded run in ``workdir`` (``li.dcd``, ``all.dcd``, ``model_devi.out``,
    ``final.restart``) from its last frame while it is not diffusive and shorter than
    ``run.extend_up_to_ps``: each segment (``make_input(steps, restart)``, run in
    ``workdir/extend_<k>``) is as long as :func:`extension_ps` asks, and its frames are
    appended; ``check``: the diffusive check's settings (:func:`diffusive_state`). Returns
    what was done: segments, recorded ps before and after, the last check's verdict and
    reason, and the failure of a segment that went wrong (the frames before it are kept)."""
    dt_ps = run.timestep_fs * FS_TO_PS
    frame_ps = run.dump_every * dt_ps
    verdict, run_ps = diffusive_state(workdir / "li.dcd", frame_ps, check)
    out = {"recorded_ps": run_ps, "extended_ps": 0.0, "segments": 0, "extension_failed": ""}
    for k in range(max_segments):
        more = extension_ps(verdict, run_ps, run.extend_up_to_ps)
        grid = math.lcm(run.dump_every, run.dump_all_every)  # both dumps stay on their grid
        steps = max(int(round(more / dt_ps / grid)), 1) * grid if more > 0 else 0
        if steps == 0:
            break
        log.info(
            "not diffusive after %.3g ps (%s): extending by %d steps",
            run_ps,
            verdict["not_diffusive_reason"],
            steps,
        )
        seg = workdir / f"extend_{k}"
        code = run_guarded(
            atoms, make_input(steps, (workdir / RESTART).resolve()), type_map, seg, **kw
        )
        if code != 0 or not (seg / RESTART).exists():
            out["extension_failed"] = lammps_error(seg) or f"LAMMPS ended with exit code {code}"
            log.warning("extension %d went wrong: %s", k, out["extension_failed"])
            break
        append_dcd(workdir / "li.dcd", seg / "li.dcd")
        append_dcd(workdir / "all.dcd", seg / "all.dcd")
        append_model_devi(workdir / "model_devi.out", seg / "model_devi.out")
        (seg / RESTART).replace(workdir / RESTART)
        out["segments"] += 1
        verdict, run_ps = diffusive_state(workdir / "li.dcd", frame_ps, check)
    out.update(
        extended_ps=run_ps - out["recorded_ps"],
        recorded_ps=run_ps,
        diffusive=bool(verdict["diffusive"]),
        not_diffusive_reason=verdict["not_diffusive_reason"],
    )
    return out


class BoxError(RuntimeError):
    """The MD box collapsed or exploded (volume left the allowed range): the run is void."""


def run_guarded(atoms: Atoms, text: str, type_map: list[str], workdir: Path, **kw) -> int:
    """:func:`lpsflow.lammps.run_lammps` without raising on LAMMPS errors; the box guard's
    stop becomes :class:`BoxError`. Returns LAMMPS' exit status."""
    code = run_lammps(atoms, text, type_map, workdir, check=False, **kw)
    out = workdir / "stdout.txt"
    if code != 0 and out.exists() and "Fix halt condition" in out.read_text(errors="replace"):
        raise BoxError(
            f"MD in {workdir} stopped: the box volume left [1/{MAX_VOLUME_RATIO:g}, "
            f"{MAX_VOLUME_RATIO:g}] x its start volume (NPT collapse or explosion; the "
            "model is outside its data or the pressure is wrong)"
        )
    return code


def run_npt_or_fallback(
    atoms: Atoms, make_input, type_map: list[str], workdir: Path, log, **kw
) -> tuple[str | None, int]:
    """Run ``make_input(npt=True)``; if its box collapses or explodes, say so in ``log`` and
    run ``make_input(npt=False)`` (constant volume) instead. Returns the NPT failure (the
    run's density is then not a result and the run is untrusted) or None, and LAMMPS' exit
    status of the run kept (see :func:`run_status`; the box guard of the constant-volume
    run gives a non-zero status, not an exception).
    """
    import shutil

    try:
        return None, run_guarded(atoms, make_input(npt=True), type_map, workdir, **kw)
    except BoxError as err:
        log.warning("%s; rerunning at constant volume, run marked untrusted", err)
        failed = workdir.with_name(workdir.name + "_npt_failed")
        shutil.rmtree(failed, ignore_errors=True)
        workdir.rename(failed)
        try:
            code = run_guarded(atoms, make_input(npt=False), type_map, workdir, **kw)
        except BoxError as again:
            log.warning("%s", again)
            code = 1
        return str(err), code


def npt_summary(workdir: Path, average_from_step: int = 0) -> dict:
    """Density statistics of an NPT stage (``npt.dat``, rows after ``average_from_step``)
    and the box of the NVT that follows (``nvt_box.txt``): angstrom^3, g/cm^3, bar, K.
    """
    out: dict = {}
    npt = workdir / "npt.dat"
    if npt.exists():
        data = np.loadtxt(npt, comments="#", ndmin=2)
        window = data[data[:, 0] > average_from_step]
        if len(window):
            out.update(
                npt_records=int(len(window)),
                npt_temperature_K=float(window[:, 1].mean()),
                npt_volume_A3=float(window[:, 2].mean()),
                npt_density_g_cm3=float(window[:, 3].mean()),
                npt_density_std_g_cm3=float(window[:, 3].std()),
                npt_pressure_bar=float(window[:, 4].mean()),
            )
    box = workdir / "nvt_box.txt"
    if box.exists():  # absent when the run died before the NVT stage
        volume, rho = np.loadtxt(box, ndmin=1)[:2]
        out.update(nvt_volume_A3=float(volume), nvt_density_g_cm3=float(rho))
    return out


def deviation_summary(model_devi: Path, trust_hi: float) -> dict:
    """Largest force deviation and the fraction of records at or above ``trust_hi``."""
    devi = read_model_devi(model_devi)["max_devi_f"].to_numpy(float)
    if not len(devi):
        return {"devi_records": 0, "max_devi_f": float("nan"), "untrusted_fraction": float("nan")}
    return {
        "devi_records": int(len(devi)),
        "max_devi_f": float(devi.max()),
        "untrusted_fraction": float(np.mean(~(devi < trust_hi))),  # NaN counts as untrusted
    }


def ensemble_models(manifest_path: str | Path) -> list[str]:
    """The models of ``pair_style deepmd``: each ensemble member exactly once.

    The first drives the MD; the deviation is taken over all listed models. When the
    manifest holds ``graph_<m>_compressed.pb`` (a compressed copy of member m), it replaces
    member m (first, as the faster driver); listing both would count member m twice and
    bias the deviation low.
    """
    import json

    root = Path(manifest_path).parent
    manifest = json.loads(Path(manifest_path).read_text())
    graphs = [m for m in manifest["models"] if m.startswith("graph_") and m.endswith(".pb")]
    compressed = {m.removesuffix("_compressed.pb") + ".pb": m for m in graphs if "compressed" in m}
    members = [m for m in graphs if "compressed" not in m]
    ordered = [compressed[m] for m in members if m in compressed]
    ordered += [m for m in members if m not in compressed]
    return [str((root / m).resolve()) for m in ordered]


def run_status(workdir: Path, returncode: int, dump: str | None = None) -> dict:
    """Status of a production LAMMPS run in ``workdir``: ``ok``, or ``failed`` with LAMMPS'
    error (lost atoms, a killed process, ...). Cuts ``dump`` and ``model_devi.out`` after
    their last complete record, so what was written before the failure can still be read.
    A failed run is untrusted; the workflow goes on.
    """
    frames = complete_dump(workdir / dump) if dump else None
    complete_model_devi(workdir / "model_devi.out")
    reason = ""
    if returncode != 0:
        reason = lammps_error(workdir) or f"LAMMPS ended with exit code {returncode}"
    return {"status": "failed" if reason else "ok", "reason": reason, "frames": frames}
