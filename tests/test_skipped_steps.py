"""trainer.on_nonfinite=skip: the skipped steps are said on the console, and a run that
skipped every step, or whose objective was never finite, is no success."""

from __future__ import annotations

import logging

import pytest
import torch
from fit_task import PixelTask, run_fit

from aegan.errors import NonFiniteError


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_skipped_steps_are_counted_per_epoch_and_at_the_end(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="aegan.engine.loop"):
        run_fit(tmp_path, epochs=2, on_nonfinite="skip", nan_steps=[2, 7, 12])
    assert warnings_of(caplog) == [
        "epoch 1: 2 of 8 steps skipped, their loss not finite (trainer.on_nonfinite=skip)",
        "epoch 2: 1 of 8 steps skipped, their loss not finite (trainer.on_nonfinite=skip)",
        "training: 3 of 16 steps skipped, their loss not finite (trainer.on_nonfinite=skip)",
    ]


def test_a_run_without_a_skipped_step_says_nothing_of_them(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="aegan.engine.loop"):
        run_fit(tmp_path, epochs=1, on_nonfinite="skip")
    assert warnings_of(caplog) == []


def test_a_run_that_skipped_every_step_fails(tmp_path):
    with pytest.raises(NonFiniteError) as caught:
        run_fit(tmp_path, epochs=2, on_nonfinite="skip", nan_steps=range(1, 17))
    assert str(caught.value) == (
        "every one of the 16 steps had a non-finite loss and was skipped "
        "(trainer.on_nonfinite=skip): nothing was trained; lower the learning rate or use "
        "bf16/fp32"
    )


class NanValidation(PixelTask):
    def validate(self, batches, amp):
        list(batches)
        return {"val/mse": float("nan")}


def test_a_run_whose_objective_was_never_finite_fails(tmp_path):
    with pytest.raises(NonFiniteError, match=r"^the validation objective val/mse was never "
                       r"finite \(last: nan\)"):  # fmt: skip
        run_fit(tmp_path, epochs=1, on_nonfinite="skip", task=NanValidation())
    assert (tmp_path / "checkpoints" / "last.pt").is_file()  # kept, for a look


def test_an_objective_never_finite_from_finite_training_blames_validate(tmp_path):
    with pytest.raises(NonFiniteError) as caught:
        run_fit(tmp_path, epochs=2, task=NanValidation())
    assert str(caught.value) == (
        "the validation objective val/mse was never finite (last: nan), so no best.pt was kept, "
        "though every training step's scalars were finite: NanValidation.validate computes it "
        "not finite from the trained weights (last.pt); check what it computes"
    )


def test_an_objective_never_finite_after_skipped_steps_names_them(tmp_path):
    with pytest.raises(NonFiniteError) as caught:
        run_fit(tmp_path, epochs=1, on_nonfinite="skip", nan_steps=[2, 5], task=NanValidation())
    assert str(caught.value) == (
        "the validation objective val/mse was never finite (last: nan), so no best.pt was kept; "
        "2 training steps had a non-finite loss and were skipped (trainer.on_nonfinite=skip): "
        "lower the learning rate or use bf16/fp32"
    )


class DivergesInItsLastUpdate(PixelTask):
    def train_step(self, batch, amp):
        stats = super().train_step(batch, amp)
        if len(self.batches) % 8 == 0:  # an epoch's last step: its update is not finite
            with torch.no_grad():
                self.net[0].weight.fill_(float("inf"))
        return stats


def test_an_objective_never_finite_from_weights_that_are_not_names_the_network(tmp_path):
    with pytest.raises(NonFiniteError) as caught:
        run_fit(tmp_path, epochs=1, task=DivergesInItsLastUpdate())
    assert str(caught.value).startswith("the validation objective val/mse was never finite")
    assert str(caught.value).endswith(
        "so no best.pt was kept; the weights of networks['net'] are not finite, though every "
        "training step's scalars were: lower the learning rate or use bf16/fp32"
    )
