"""AIMD initial data: CP2K MD input, complete-frame parsing, real runs into the store."""

from __future__ import annotations

import shutil

import dpdata
import numpy as np
import pytest
from conftest import AIMD_SETTINGS as MD
from conftest import needs_cp2k

from lpsflow.aimd import aimd_frames
from lpsflow.dft import get_engine
from lpsflow.dft.cp2k import input_text
from lpsflow.dft.cp2k_md import md_input, parse_run, read_xyz_blocks
from lpsflow.labeling import label_frame


def test_md_input_prints_every_n_steps(cheap_dft, li3ps4_8):
    text = md_input(input_text(li3ps4_8, cheap_dft), MD)
    assert "RUN_TYPE MD" in text and "SEED 3" in text and "ENSEMBLE NVT" in text
    assert "STEPS 4" in text and "TYPE CSVR" in text and "TEMPERATURE 600" in text
    assert text.count("MD 2") == 5  # forces, stress (FORCE_EVAL); energy, trajectory, forces
    assert "STRESS_TENSOR ANALYTICAL" in text


def test_truncated_xyz_keeps_complete_blocks(tmp_path):
    block = " 2\n i = {i}, time = {i}.0, E = -1.5\n Li 0 0 0\n S 1 1 1\n"
    path = tmp_path / "x.xyz"
    path.write_text(block.format(i=0) + block.format(i=2) + " 2\n i = 4, time = 4.0, E = -1\n Li 0")
    blocks = read_xyz_blocks(path)
    assert [b[0] for b in blocks] == [0, 2] and blocks[1][3].shape == (2, 3)


@pytest.mark.slow
@needs_cp2k()
def test_aimd_frames_enter_the_store(aimd_run):
    atoms, store, frames, run, cheap_dft_module = aimd_run
    assert run["status"] == "complete" and not run["reused"]
    assert [f["step"] for f in frames] == [0, 2, 4]
    assert all(f["status"] == "ok" for f in frames)
    folder = store.root / "aimd" / run["key"][:2] / run["key"]
    # the labels equal what dpdata (cp2kdata's cp2k/aimd_output) reads from the same run
    ref = dpdata.LabeledSystem(
        str(folder), fmt="cp2k/aimd_output", cp2k_output_name=str(folder / "cp2k.out")
    )
    assert len(ref) == 3
    for i, frame in enumerate(frames):
        label = dpdata.LabeledSystem(str(store.label_path(frame["key"])), fmt="deepmd/npy")
        assert store.verify(frame["key"])
        assert label["energies"][0] == pytest.approx(ref["energies"][i], abs=1e-6)
        assert np.allclose(label["forces"][0], ref["forces"][i], atol=1e-6)
        assert np.allclose(label["virials"][0], ref["virials"][i], atol=1e-4)
        assert np.abs(label["virials"][0]).max() > 0.1
    # frame 0 is the starting cell: a single point of it is the same label, from the store
    engine = get_engine("cp2k", cheap_dft_module)
    again = label_frame(atoms, engine, store)
    assert (again.key, again.reused, again.n_runs) == (frames[0]["key"], True, 0)
    # the run is not repeated
    frames2, run2 = aimd_frames(atoms, cheap_dft_module, MD, store)
    assert run2["reused"] and frames2 == frames


@pytest.mark.slow
@needs_cp2k()
def test_crashed_run_keeps_frames_written_before(aimd_run, tmp_path):
    """Cut the run's files as a crash during step 4 leaves them: frames 0 and 2 remain."""
    atoms, store, frames, run, _ = aimd_run
    folder = store.root / "aimd" / run["key"][:2] / run["key"]
    crash = tmp_path / "crash"
    shutil.copytree(folder, crash)
    out = (crash / "cp2k.out").read_text()
    cut = out.rfind("STRESS| Analytical stress tensor")
    (crash / "cp2k.out").write_text(out[: cut + 60])  # last stress block cut, no PROGRAM ENDED
    frc = (crash / "label-frc-1.xyz").read_text().splitlines()
    (crash / "label-frc-1.xyz").write_text("\n".join(frc[: 2 * 10 + 5]) + "\n")
    parsed = parse_run(crash, atoms, "cp2k.out")
    assert [f["step"] for f in parsed] == [0, 2]
    assert all(f["system"] is not None for f in parsed)


def test_a_cp2k_that_cannot_start_is_a_setup_error(cheap_dft, li3ps4_8, tmp_path):
    """The AIMD launch goes through the engine: a missing program names dft.command, as a
    single point does, and stores nothing."""
    from lpsflow.dft import SetupError
    from lpsflow.store import LabelStore

    settings = {**cheap_dft, "command": "no-such-cp2k.psmp"}
    store = LabelStore(tmp_path / "store")
    with pytest.raises(SetupError, match="dft.command.*no-such-cp2k"):
        aimd_frames(li3ps4_8, settings, MD, store)
    assert not list((tmp_path / "store").glob("aimd/*/*/record.json"))
