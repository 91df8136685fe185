"""A save that fails part-way names the checkpoint a run can go on from: the step file it
wrote whole where last.pt could not be pointed at it (a folder there, a full disk where
links are copies), not the last.pt it could not replace."""

from __future__ import annotations

import pytest
from checkpoint_task import a_state

from aegan.engine import load_checkpoint
from aegan.engine.checkpoint import save_checkpoint
from aegan.errors import CheckpointError


def failed_save(folder, step: int) -> str:
    with pytest.raises(CheckpointError) as caught:
        save_checkpoint(a_state(step=step), folder, step=step, keep=5, is_best=False)
    return str(caught.value)


def test_a_save_whose_last_pt_cannot_be_replaced_names_the_step_file_it_wrote(tmp_path):
    folder = tmp_path / "checkpoints"
    save_checkpoint(a_state(step=2), folder, step=2, keep=5, is_best=False)
    (folder / "last.pt").unlink()
    (folder / "last.pt").mkdir()  # a folder where last.pt goes: its link cannot replace it
    line = failed_save(folder, 4)
    written = folder / "step-00000004.pt"
    assert f"the last good checkpoint is {written}." in line
    assert f"trainer.resume={written} hydra.run.dir={tmp_path}" in line
    assert load_checkpoint(written)["step"] == 4
