"""aegan.engine.loop's resume paths in milliseconds (``fit_task.PixelTask``, 8 steps an
epoch): a run stopped mid-epoch, in an epoch's last step or in the run's last one, then
resumed from ``last.pt``, ends with the checkpoint and the Progress of a run that was not
stopped, bitwise; the messages say where it stopped and where it continues."""

from __future__ import annotations

import logging

import pytest
import torch
from fit_task import STEPS_PER_EPOCH, run_fit

from aegan.engine import load_checkpoint
from aegan.engine.interrupt import TrainingInterrupted
from aegan.errors import CheckpointError
from conftest import assert_same


def interrupted(folder, stop_at: int, **changes) -> TrainingInterrupted:
    with pytest.raises(TrainingInterrupted) as caught:
        run_fit(folder, stop_at=stop_at, **changes)
    return caught.value


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """Three epochs without a stop: (its last.pt, the Progress fit returned)."""
    folder = tmp_path_factory.mktemp("straight")
    _, progress = run_fit(folder)
    return load_checkpoint(folder / "checkpoints" / "last.pt"), progress


def without_config(state: dict) -> dict:
    return {k: v for k, v in state.items() if k != "config"}


@pytest.mark.parametrize("stop_at", [5, 8, 9, 24])
def test_a_stopped_and_resumed_run_ends_as_the_straight_one(tmp_path, straight, stop_at):
    """Mid-epoch (5, 9), in an epoch's last step (8) and in the run's last step (24)."""
    error = interrupted(tmp_path, stop_at)
    assert error.step == stop_at and error.signal_name == "SIGTERM"
    folder = tmp_path / "checkpoints"
    saved = load_checkpoint(folder / "last.pt")
    epoch, batch = divmod(stop_at - 1, STEPS_PER_EPOCH)  # in an epoch's last step: its
    assert (saved["step"], saved["epoch"], saved["batch"]) == (stop_at, epoch, batch + 1)
    assert len(saved["history"]) == epoch  # validation not waited for, saved unvalidated
    # a stop's checkpoint is never the best: best.pt is the best ended epoch's
    if epoch:
        best = min(saved["history"], key=lambda h: h["val/mse"])["epoch"] * STEPS_PER_EPOCH
        assert load_checkpoint(folder / "best.pt")["step"] == best
    else:
        assert not (folder / "best.pt").exists()
    if stop_at < 24:  # else nothing left to train: the resume validates the last epoch
        assert not torch.equal(saved["networks"]["net"]["0.weight"],
                               straight[0]["networks"]["net"]["0.weight"])  # fmt: skip
    task, progress = run_fit(tmp_path, resume=True)
    assert progress == straight[1]
    assert len(task.batches) == 24 - stop_at  # it went on at the next batch
    assert_same(without_config(load_checkpoint(folder / "last.pt")), without_config(straight[0]))


def test_the_stop_message_says_where_and_how_to_continue(tmp_path):
    folder = tmp_path / "checkpoints"
    assert str(interrupted(tmp_path, 5)) == (
        "stopped by SIGTERM at step 5 (epoch 1/3, batch 5/8); saved "
        f"{folder}/last.pt. Continue in its folder with the same command and "
        f"trainer.resume={tmp_path} hydra.run.dir={tmp_path}"
    )
    assert str(interrupted(tmp_path, 8)).startswith(
        "stopped by SIGTERM at step 8 (epoch 1/3, batch 8/8); saved"
    )


def test_a_resume_logs_where_it_continues(tmp_path, caplog):
    interrupted(tmp_path, 10)
    with caplog.at_level(logging.INFO, logger="aegan.engine.loop"):
        run_fit(tmp_path, resume=True, epochs=2)
    assert f"resumed from {tmp_path}/checkpoints/last.pt at step 10 (epoch 2/2, batch 2/8)" in (
        caplog.messages
    )


def test_a_checkpoint_that_does_not_fit_is_named(tmp_path):
    interrupted(tmp_path, 5)
    state = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    del state["optimizers"]["sgd"]
    broken = tmp_path / "broken.pt"
    torch.save(state, broken)
    with pytest.raises(CheckpointError) as caught:
        run_fit(tmp_path, resume=broken)
    assert str(caught.value) == f"{broken}: no optimizer state for 'sgd'"
