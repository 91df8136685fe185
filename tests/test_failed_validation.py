"""A task whose validate or log_epoch fails after an epoch's training: the epoch is saved
as at its last batch and the failure said, and a resume once it is fixed validates that
epoch and goes on. The epoch's checkpoint came after its validation: its steps were lost."""

from __future__ import annotations

import logging

import pytest
from fit_task import STEPS_PER_EPOCH, PixelTask, run_fit

from aegan.engine import load_checkpoint
from aegan.errors import ContractError
from conftest import assert_same


class FailsValidation(PixelTask):
    def validate(self, batches, amp):
        raise RuntimeError("validation broke")


class ValidatesToNone(PixelTask):
    def validate(self, batches, amp):
        return {"val/mse": None}


class FailsPictures(PixelTask):
    def log_epoch(self, logger, data, step: int) -> None:
        raise ValueError("picture broke")


@pytest.mark.parametrize(
    ("task", "error"),
    [
        (FailsValidation, RuntimeError),
        (ValidatesToNone, ContractError),
        (FailsPictures, ValueError),
    ],
)
def test_a_failed_validation_keeps_the_epochs_training(tmp_path, caplog, task, error):
    failing = task()
    with caplog.at_level(logging.ERROR, logger="aegan.engine.loop"), pytest.raises(error):
        run_fit(tmp_path, epochs=2, task=failing)
    state = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert (state["step"], state["epoch"], state["batch"]) == (STEPS_PER_EPOCH, 0, STEPS_PER_EPOCH)
    assert_same(state["networks"]["net"], failing.net.state_dict())
    assert [r.getMessage() for r in caplog.records] == [
        f"{task.__name__}.validate or log_epoch failed after epoch 1; its training is saved in "
        f"{tmp_path}/checkpoints/last.pt: continue in its folder with trainer.resume={tmp_path} "
        f"hydra.run.dir={tmp_path}, which validates it again"
    ]


def test_a_resume_after_a_failed_validation_validates_that_epoch_and_goes_on(tmp_path):
    with pytest.raises(RuntimeError, match="validation broke"):
        run_fit(tmp_path, epochs=2, task=FailsValidation())
    task, progress = run_fit(tmp_path, epochs=2, resume=True)
    assert [entry["epoch"] for entry in progress.history] == [1, 2]
    assert progress.step == 2 * STEPS_PER_EPOCH
    assert len(task.batches) == STEPS_PER_EPOCH  # the second epoch's steps only


class ValidatesAHugeInteger(PixelTask):
    def validate(self, batches, amp):
        return {**super().validate(batches, amp), "val/count": 10**400}


def test_an_integer_no_float_holds_is_refused_as_validates_figure(tmp_path):
    """It was TensorBoard's OverflowError (int too large to convert to float)."""
    with pytest.raises(ContractError) as caught:
        run_fit(tmp_path, epochs=1, task=ValidatesAHugeInteger())
    assert str(caught.value) == (
        "ValidatesAHugeInteger.validate returned val/count as an integer of 1329 bits; it must "
        "return floats (.item() of a tensor)"
    )
