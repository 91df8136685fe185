"""The line that stops a run for a step's scalars names them (``fit_task.PixelTask``, 8 steps
an epoch, a checkpoint every 3): it said "non-finite loss" and blamed the learning rate
whichever scalar it was, and for a finite float64 value beyond float32 (a model of one's own
returning 1e39), which no learning rate explains."""

from __future__ import annotations

import pytest
import torch
from fit_task import PixelTask, run_fit

from aegan.engine import load_checkpoint
from aegan.errors import NonFiniteError


class ExtraScalarTask(PixelTask):
    """PixelTask whose step returns ``extra`` beside its loss from step ``from_step`` on."""

    def __init__(self, extra: dict[str, torch.Tensor], from_step: int) -> None:
        super().__init__()
        self.extra, self.from_step, self.calls = extra, from_step, 0

    def train_step(self, batch, amp) -> dict[str, torch.Tensor]:
        self.calls += 1
        stats = super().train_step(batch, amp)
        return {**stats, **self.extra} if self.calls >= self.from_step else stats


def stop_line(tmp_path, extra: dict[str, torch.Tensor]) -> str:
    """The line that stops a run whose step 10 on returns ``extra``; the last good
    checkpoint is that of step 9."""
    with pytest.raises(NonFiniteError) as caught:
        run_fit(tmp_path, task=ExtraScalarTask(extra, 10), checkpoint_every_steps=3)
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["step"] == 9
    return str(caught.value)


def test_a_finite_scalar_beyond_float32_is_named_and_the_learning_rate_not_blamed(tmp_path):
    big = torch.tensor(1e39, dtype=torch.float64)
    assert stop_line(tmp_path, {"train/big": big}) == (
        "step 10 returned train/big=1e+39: finite, but beyond float32's range (3.4e+38), in "
        "which the engine keeps and logs step scalars; training stopped, the last good "
        f"checkpoint is {tmp_path}/checkpoints/last.pt (return it within that range: scaled, "
        "or its log)"
    )


def test_the_scalars_that_are_not_finite_are_named(tmp_path):
    extra = {"train/other": torch.tensor(float("nan")), "train/fine": torch.tensor(2.0),
             "train/low": torch.tensor(float("-inf"))}  # fmt: skip
    assert stop_line(tmp_path, extra) == (
        "non-finite loss at step 10: train/other=nan, train/low=-inf; training stopped, the "
        f"last good checkpoint is {tmp_path}/checkpoints/last.pt (lower the learning rate, "
        "use bf16/fp32, or trainer.on_nonfinite=skip)"
    )


def test_a_scalar_beyond_float32_beside_a_nan_is_said_with_it(tmp_path):
    extra = {"train/big": torch.tensor(-1e300, dtype=torch.float64),
             "train/other": torch.tensor(float("nan"))}  # fmt: skip
    assert stop_line(tmp_path, extra).startswith(
        "non-finite loss at step 10: train/other=nan (and train/big=-1e+300: finite, but "
        "beyond float32's range (3.4e+38)); training stopped, the last good checkpoint is "
    )
