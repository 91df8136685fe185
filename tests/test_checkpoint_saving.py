"""Where a save puts a checkpoint: step-N.pt, last.pt and best.pt in the run's checkpoints
folder, the oldest step files pruned (only those this code wrote), a branch's later ones
moved aside, and one line when the folder cannot take the file."""

from __future__ import annotations

import os
import re

import pytest
import torch
from checkpoint_task import a_state

from aegan.engine.branch import keep_later_checkpoints
from aegan.engine.checkpoint import CHECKPOINT_FORMAT, save_checkpoint
from aegan.engine.failed_write import last_good_checkpoint
from aegan.errors import CheckpointError


def test_save_writes_format_2_names_the_step_and_keeps_the_newest(tmp_path):
    folder = tmp_path / "run" / "checkpoints"
    for step in (3, 12, 40):
        path = save_checkpoint(a_state(step=step), folder, step=step, keep=2, is_best=step == 12)
        assert path == folder / f"step-{step:08d}.pt"
    assert sorted(p.name for p in folder.iterdir()) == [
        "best.pt", "last.pt", "step-00000012.pt", "step-00000040.pt"
    ]  # fmt: skip
    raw = torch.load(folder / "last.pt", weights_only=True)
    assert raw["format_version"] == CHECKPOINT_FORMAT == 2 and raw["step"] == 40
    assert torch.load(folder / "best.pt", weights_only=True)["step"] == 12
    save_checkpoint(a_state(step=41), folder, step=41, keep=0, is_best=False)  # keeps one
    assert sorted(p.name for p in folder.glob("step-*")) == ["step-00000041.pt"]


def test_a_folder_that_cannot_take_the_file_is_one_clear_error(tmp_path):
    folder = tmp_path / "run" / "checkpoints"
    folder.parent.mkdir()
    folder.write_text("a file where the folder should be")
    assert last_good_checkpoint(folder) == "no checkpoint was written yet"
    with pytest.raises(CheckpointError) as caught:
        save_checkpoint(a_state(), folder, step=7, keep=1, is_best=False)
    assert re.fullmatch(  # the path that failed, not the file it was for; nothing to resume
        rf"could not write the checkpoint {folder} \(File exists\); no checkpoint was written yet\. "
        r"Make that path writable \(or move it away\), then run the same command again",
        str(caught.value),
    )


def test_only_checkpoint_files_are_pruned(tmp_path):
    folder = tmp_path / "checkpoints"
    (folder / "step-00000001.pt").mkdir(parents=True)  # not a file this code wrote
    for step in (2, 3):
        save_checkpoint(a_state(step=step), folder, step=step, keep=1, is_best=False)
    assert sorted(p.name for p in folder.glob("step-*")) == ["step-00000001.pt", "step-00000003.pt"]


def test_a_copy_named_like_a_step_checkpoint_is_the_users(tmp_path):
    """Pruning took every step-*.pt in name order: a copy kept as step-00000002-good.pt was
    deleted as the oldest, and step 10**8's file, named before step 99999999's, as older."""
    folder = tmp_path / "checkpoints"
    save_checkpoint(a_state(step=2), folder, step=2, keep=1, is_best=False)
    os.link(folder / "step-00000002.pt", folder / "step-00000002-good.pt")
    for step in (99_999_999, 10**8):
        save_checkpoint(a_state(step=step), folder, step=step, keep=1, is_best=False)
    names = sorted(p.name for p in folder.glob("step-*"))
    assert names == ["step-00000002-good.pt", "step-100000000.pt"]


def test_a_branch_moves_the_step_checkpoints_past_it_out_of_its_window(tmp_path):
    """Resumed in its folder from step 4, the run's later step files go to past-step-4: left
    beside the branch's, pruning (newest names first) would delete the branch's own."""
    folder = tmp_path / "checkpoints"
    for step in (2, 4, 6, 8):
        save_checkpoint(a_state(step=step), folder, step=step, keep=5, is_best=False)
    kept = keep_later_checkpoints(tmp_path, folder / "step-00000004.pt", step=4, epoch=0)
    assert kept == folder / "past-step-4"
    assert sorted(p.name for p in kept.iterdir()) == ["last.pt", "step-00000006.pt",
                                                      "step-00000008.pt"]  # fmt: skip
    assert sorted(p.name for p in folder.glob("*.pt")) == [
        "last.pt", "step-00000002.pt", "step-00000004.pt"
    ]  # fmt: skip
    save_checkpoint(a_state(step=5), folder, step=5, keep=2, is_best=False)
    assert sorted(p.name for p in folder.glob("step-*")) == ["step-00000004.pt", "step-00000005.pt"]


def test_last_good_checkpoint_names_last_pt(tmp_path):
    (tmp_path / "last.pt").write_bytes(b"")
    assert last_good_checkpoint(tmp_path) == f"the last good checkpoint is {tmp_path}/last.pt"
