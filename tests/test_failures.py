"""Failures of the setup vs failures of a frame: classification, the failed-fraction limit,
retries of stored failures (fast), and the real CP2K with a broken setup (slow)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ase.io import read
from conftest import COUNTING_CP2K, needs_cp2k, run_workflow, shipped, tiny_campaign

from lpsflow.dft import SetupError, failure_kind, get_engine
from lpsflow.dft.cp2k import setup_problem
from lpsflow.labeling import (
    TooManyFailures,
    check_failures,
    label_batch,
    label_frame,
    retry_reason,
    strategy_digest,
)
from lpsflow.store import LabelStore, frame_key

CRASH = "sh -c 'kill -9 $$'"  # dies of a signal: a crash of the frame, not of the setup


def entries(store: LabelStore) -> list:
    return list((store.root / "entries").glob("*/*"))


def test_failure_kinds():
    assert failure_kind("scf_not_converged") == "scf"
    assert failure_kind("timeout") == "timeout"
    assert failure_kind("crash: exit code 137, output ends early") == "crash"
    assert failure_kind("parse: no virial in output") == "crash"


@pytest.mark.parametrize(
    "text,rc,key",
    [
        ("", 127, "dft.command"),  # launcher or program not found, nothing written
        ("", 1, "dft.command"),  # mpirun/srun refused to start
        (" CP2K| version string: CP2K version 2023.1\n *** [ABORT] ***\n", 1, "dft"),
    ],
)
def test_setup_problem_without_scf(tmp_path, cheap_dft, text, rc, key):
    out = tmp_path / "cp2k.out"
    if text:
        out.write_text(text)
    problem = setup_problem(out, tmp_path / "stdout.txt", rc, False, cheap_dft)
    assert isinstance(problem, SetupError) and problem.key == key


@pytest.mark.parametrize(
    "text,rc,timed_out",
    [
        ("", 137, False),  # killed by a signal before writing: a crash (OOM, node)
        ("", -9, False),
        (" SCF WAVEFUNCTION OPTIMIZATION\n *** [ABORT] ***\n cannot be opened\n", 1, False),
        ("", None, True),  # time limit
    ],
)
def test_frame_failures_are_not_setup(tmp_path, cheap_dft, text, rc, timed_out):
    out = tmp_path / "cp2k.out"
    if text:
        out.write_text(text)
    assert setup_problem(out, tmp_path / "stdout.txt", rc, timed_out, cheap_dft) is None


def test_missing_program_is_setup_and_nothing_stored(tmp_path, cheap_dft, li3ps4_8):
    store = LabelStore(tmp_path / "s")
    for command in ("false", "no-such-cp2k-program"):
        engine = get_engine("cp2k", {**cheap_dft, "command": command})
        with pytest.raises(SetupError, match=r"dft\.command"):
            label_frame(li3ps4_8, engine, store)
    assert entries(store) == []


def test_retry_reason():
    never = lambda: pytest.fail("version asked although not needed")  # noqa: E731
    scf = {"reason": "scf_not_converged", "strategy": "s1", "program_version": "2023.1"}
    assert retry_reason(scf, "s1", lambda: "2023.1") == ""
    assert retry_reason(scf, "s1", lambda: "") == ""  # version unknown: no reason to retry
    assert "retry_failed" in retry_reason(scf, "s1", never, retry_failed=True)
    assert "strategy" in retry_reason(scf, "s2", never)
    assert "version" in retry_reason(scf, "s1", lambda: "2024.1")
    assert "crashed" in retry_reason({**scf, "reason": "crash: exit code 137"}, "s1", never)
    assert retry_reason({"reason": "timeout"}, "s1", never)  # stored before strategies were


def test_stored_failures_retried_after_crash_or_strategy_change(tmp_path, cheap_dft, li3ps4_8):
    store = LabelStore(tmp_path / "s")
    engine = get_engine("cp2k", {**cheap_dft, "command": CRASH})
    first = label_frame(li3ps4_8, engine, store)
    assert (first.status, first.n_runs) == ("failed", 2) and first.reason.startswith("crash")
    again = label_frame(li3ps4_8, engine, store)  # a crash is retried on the next run
    assert (again.reused, again.n_runs) == (False, 2)
    # an SCF failure stays final under the same settings and program version ...
    record = store.record(first.key)
    record.update(reason="scf_not_converged", program_version="2023.1")
    work = store.new_workdir(first.key)
    store.commit(first.key, work, record, replace=True)
    engine._version = "2023.1"
    assert label_frame(li3ps4_8, engine, store).reused
    # ... and is retried when the SCF strategy or the time limit changes
    slower = get_engine("cp2k", {**cheap_dft, "command": CRASH, "timeout_s": 999})
    slower._version = "2023.1"
    assert strategy_digest(slower, 2) != strategy_digest(engine, 2)
    assert not label_frame(li3ps4_8, slower, store).reused


def test_failed_fraction_limit():
    ok, bad = ["ok", ""], ["failed", "scf_not_converged"]
    rows = [ok, bad, bad, ok]
    check_failures(*zip(*rows, strict=True), max_failed_fraction=0.5, where="x")  # 2 of 4
    with pytest.raises(TooManyFailures, match=r"3 of 4 .* 3 scf_not_converged"):
        check_failures(*zip(*[*rows, bad][1:], strict=True), max_failed_fraction=0.5, where="x")
    # part of a stage: 2 failures in a batch already exceed half of a 3-frame stage
    with pytest.raises(TooManyFailures, match="max_failed_fraction"):
        check_failures(["failed"] * 2, ["timeout"] * 2, 0.5, "x", n_frames=3)


def test_batch_stops_once_the_stage_limit_is_passed(tmp_path, cheap_dft, li3ps4_8):
    frames = []
    for i in range(4):
        atoms = li3ps4_8.copy()
        atoms.positions[0, 0] += 0.01 * i
        frames.append(atoms)
    engine = get_engine("cp2k", {**cheap_dft, "command": CRASH})
    store = LabelStore(tmp_path / "s")
    with pytest.raises(TooManyFailures, match=r"2 of 4 frames failed .* 2 crash"):
        label_batch(frames, engine, store, 1, max_failed_fraction=0.25, where="stage")
    assert len(entries(store)) == 2  # stopped after the second failure, not the fourth


@pytest.mark.slow
@needs_cp2k()
@pytest.mark.parametrize(
    "change,key",
    [
        ({"data_dir": "/usr/share/cp2k-typo"}, "dft.data_dir"),
        ({"basis": "SZV-MOLOPT-SR-GTH-TYPO"}, "dft.basis"),
        ({"potential": "GTH-PBE-TYPO"}, "dft.potential"),
    ],
)
def test_real_cp2k_setup_errors_name_the_key(tmp_path, cheap_dft, li3ps4_8, change, key):
    store = LabelStore(tmp_path / "s")
    engine = get_engine("cp2k", {**cheap_dft, **change})
    start = time.monotonic()
    with pytest.raises(SetupError) as err:
        label_frame(li3ps4_8, engine, store)
    assert err.value.key == key and "first SCF" not in str(err.value)
    assert time.monotonic() - start < 30  # one run, no robust retry
    assert entries(store) == []
    assert len(list((store.root / "tmp").glob("*/attempt_*"))) == 1
    assert frame_key(li3ps4_8, engine.physics())  # the frame itself is fine


@pytest.mark.slow
def test_md_killed_half_way_keeps_frames_and_restarts_from_trusted(local_campaign):
    """The tiny campaign's LPS75 exploration of iteration 0 is killed at step 100 of 200."""
    res = local_campaign / "results"
    job = res / "iter_000" / "explore" / "LPS75" / "job_0"
    status = json.loads((job / "status.json").read_text())
    config = tiny_campaign()
    out_freq, trust_lo = config["explore"]["out_freq"], config["select"]["trust_lo"]
    expected = config["explore"]["steps"][0] // out_freq + 1
    assert status["status"] == "failed" and status["returncode"] != 0
    assert status["records"] == expected // 2 + 1 and status["expected"] == expected
    # the iteration completed: the frames before the crash were classified, the rest failed
    frames = pd.read_csv(res / "iter_000" / "select" / "frames.csv")
    lps75 = frames[frames["composition"] == "LPS75"]
    kept = lps75[np.isfinite(lps75["max_devi_f"])].sort_values("step")
    assert list(kept["step"]) == [out_freq * k for k in range(status["records"])]
    lost = lps75[~np.isfinite(lps75["max_devi_f"])]
    assert len(lost) == expected - status["records"] and (lost["class"] == "failed").all()
    verdict = json.loads((res / "iter_000" / "select" / "verdict.json").read_text())
    assert [f["composition"] for f in verdict["md_failures"]] == ["LPS75"]
    other = json.loads((res / "iter_000/explore/LPS80/job_0/status.json").read_text())
    assert other["status"] == "ok" and other["records"] == expected
    # the next iteration started from the last accurate frame (or the start, if none)
    final = read(job / "final.extxyz")
    trusted = kept[kept["max_devi_f"] < trust_lo]  # accurate frames only
    if len(trusted):
        assert status["restart"].startswith(f"step {int(trusted['step'].iloc[-1])} ")
    else:
        start = read(res / "sample" / "LPS75" / "replica_0.extxyz")
        assert status["restart"].startswith("start frame")
        assert np.allclose(final.positions, start.positions)
    conf = read(
        res / "iter_001/explore/LPS75/job_0/conf.lmp", format="lammps-data", atom_style="atomic"
    )
    assert np.allclose(conf.get_positions(wrap=True), final.get_positions(wrap=True), atol=1e-4)
    assert (res / "iter_001" / "select" / "verdict.json").exists()


def _one_composition(n_frames: int, threads: int) -> dict:
    """One composition, ``n_frames`` label jobs; with threads = 2 (--cores 2) they run one
    after the other, so a job that fails stops the campaign before the next starts."""
    config = shipped("demo-cp2k.yaml")
    config["compositions"] = [{"name": "LPS75", "x": 0.75, "n_atoms": 16, "replicas": 1}]
    config["init"] = {"n_perturb": n_frames}
    config["dft"].update(command=str(COUNTING_CP2K), threads=threads)
    return config


LABELS = "results/init/LPS75/labels.csv"


@pytest.mark.slow
@needs_cp2k()
def test_wrong_data_dir_fails_the_job_and_stores_nothing(tmp_path):
    calls = tmp_path / "calls.txt"
    env = {"CP2K_CALL_LOG": str(calls)}
    config = _one_composition(2, threads=2)
    config["dft"]["data_dir"] = "/usr/share/cp2k-typo"  # a one-character mistake
    proc = run_workflow(tmp_path, config, LABELS, check=False, env=env)
    assert proc.returncode != 0
    assert "SetupError" in proc.stderr and "(dft.data_dir)" in proc.stderr
    assert "BASIS_MOLOPT" in proc.stderr and "cp2k-typo" in proc.stderr
    logs = [p.read_text() for p in (tmp_path / "logs/label/LPS75").glob("frame_*.log")]
    assert len(logs) == 1 and "dft.data_dir" in logs[0]
    assert not list((tmp_path / "results/store/entries").glob("*/*"))  # nothing stored
    assert len(calls.read_text().splitlines()) == 1  # stopped at once: no retry, no 2nd frame
    # after fixing it, the same frames are labelled
    config["dft"]["data_dir"] = ""
    run_workflow(tmp_path, config, LABELS, env=env)
    labels = pd.read_csv(tmp_path / LABELS)
    assert list(labels["status"]) == ["ok", "ok"] and not labels["reused"].any()
    first = Path(calls.read_text().splitlines()[0]).parent.name.split(".")[0]
    assert first in set(labels["key"])  # one job per frame: either frame may run first


@pytest.mark.slow
@needs_cp2k()
def test_every_frame_failing_scf_stops_at_the_limit_then_retried(tmp_path):
    env = {"CP2K_CALL_LOG": str(tmp_path / "calls.txt")}
    config = _one_composition(2, threads=1)  # both frames fail; the collecting job stops
    config["dft"]["scf"] = {"max_scf": 1, "robust_factor": 1}
    proc = run_workflow(tmp_path, config, LABELS, check=False, env=env)
    assert proc.returncode != 0
    assert "TooManyFailures" in proc.stderr and "initial frames of LPS75" in proc.stderr
    assert "2 of 2 frames failed" in proc.stderr and "2 scf_not_converged" in proc.stderr
    assert "dft.max_failed_fraction = 0.5" in proc.stderr
    store = LabelStore(tmp_path / "results" / "store")
    records = [store.record(p.name) for p in (store.root / "entries").glob("*/*")]
    assert [r["kind"] for r in records] == ["scf", "scf"]
    assert all(r["program_version"] for r in records)
    # more SCF steps: the stored failures are retried without dft.retry_failed
    del config["dft"]["scf"]
    run_workflow(tmp_path, config, LABELS, env=env)
    labels = pd.read_csv(tmp_path / LABELS)
    assert list(labels["status"]) == ["ok", "ok"] and not labels["reused"].any()


def _dump_frame(step: int, positions, cell: float) -> str:
    atoms = "".join(f"{i + 1} 1 {x} {y} {z}\n" for i, (x, y, z) in enumerate(positions))
    return (
        f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{len(positions)}\n"
        f"ITEM: BOX BOUNDS pp pp pp\n0 {cell}\n0 {cell}\n0 {cell}\n"
        f"ITEM: ATOMS id type x y z\n{atoms}"
    )


def _md_folder(tmp_path, frames: list[tuple[int, list, float]], devi: list[float]):
    (tmp_path / "traj.dump").write_text("".join(_dump_frame(*f) for f in frames))
    header = "#       step max_devi_v min_devi_v avg_devi_v max_devi_f min_devi_f avg_devi_f\n"
    rows = "".join(f"{10 * k} 0 0 0 {d} 0 0\n" for k, d in enumerate(devi))
    (tmp_path / "model_devi.out").write_text(header + rows)
    return tmp_path


def test_check_run_keeps_complete_good_frames(tmp_path):
    from ase import Atoms

    from lpsflow.exploration import check_run, restart_frame

    start = Atoms("Li2", positions=[[0, 0, 0], [2, 2, 2]], cell=[5.0] * 3, pbc=True)
    good = [[0.0, 0.0, 0.0], [2.0, 2.0, 2.0]]
    frames = [(0, good, 5.0), (10, good, 5.0), (20, good, 5.0), (30, good, 9.0)]
    _md_folder(tmp_path, frames, [0.1, 0.5, 2.0, 0.1])
    with open(tmp_path / "traj.dump", "a") as fh:  # a killed run: half a frame at the end
        fh.write(_dump_frame(40, good, 5.0)[:60])
    with open(tmp_path / "model_devi.out", "a") as fh:
        fh.write("40 0 0")
    status = check_run(tmp_path, -9, start, ["Li"], expected=11)
    assert status["status"] == "failed" and status["records"] == 3  # box exploded at step 30
    assert "exit code -9" in status["reason"] and "step 30: box volume 5.83" in status["reason"]
    assert (tmp_path / "traj.dump").read_text().count("ITEM: TIMESTEP") == 3
    frame, note = restart_frame(tmp_path, start, ["Li"], trust_lo=0.3)
    assert note.startswith("step 0 ")  # step 10 is a candidate (0.5), step 20 failed (2.0)
    assert np.allclose(frame.positions, good)
    # NaN deviations end the good frames too; no trusted frame: restart from the start
    _md_folder(tmp_path, frames[:3], [1.5, float("nan"), 0.1])
    status = check_run(tmp_path, 0, start, ["Li"], expected=3)
    assert status["records"] == 1 and "non-finite model deviation" in status["reason"]
    assert restart_frame(tmp_path, start, ["Li"], trust_lo=0.3)[1].startswith("start frame")


def test_composition_without_usable_frames_is_named():
    from lpsflow.dataset import NoUsableData, check_usable

    labels = pd.DataFrame(
        {
            "composition": ["A", "A", "B", "B"],
            "key": ["k1", "k2", "k3", "k4"],
            "status": ["ok", "ok", "failed", "ok"],
            "reason": ["", "", "scf_not_converged", ""],
        }
    )
    table = pd.DataFrame(
        {
            "composition": ["A", "A", "B"],
            "key": ["k1", "k2", "k4"],
            "split": ["train", "test", "excluded"],
            "reason": ["", "", "force 80.0 eV/A above 50.0"],
        }
    )
    where = {"B": "results/init/failures.csv"}
    with pytest.raises(
        NoUsableData,
        match=r"composition B: .*1 failed in DFT: 1 scf.*; 1 excluded.*init/failures.csv",
    ):
        check_usable(labels, table, where)
    check_usable(labels[labels["composition"] == "A"], table, where)  # A has data


def test_production_run_that_went_wrong_is_untrusted(tmp_path):
    from lpsflow.production import deviation_summary, run_status

    good = [[0.0, 0.0, 0.0], [2.0, 2.0, 2.0]]
    _md_folder(tmp_path, [(0, good, 5.0), (10, good, 5.0)], [0.1, float("nan")])
    (tmp_path / "log.lammps").write_text("run 100\nERROR: Lost atoms: original 2 current 1\n")
    status = run_status(tmp_path, 1, "traj.dump")
    assert status == {
        "status": "failed",
        "reason": "ERROR: Lost atoms: original 2 current 1",
        "frames": 2,
    }
    devi = deviation_summary(tmp_path / "model_devi.out", trust_hi=1.0)
    assert devi["untrusted_fraction"] == 0.5  # a NaN deviation is not trusted
    assert run_status(tmp_path, 0)["status"] == "ok"
