"""StepAccumulator's window: nothing reaches the host before ``read``, and a read gives the
means, the non-finite count and the first non-finite step of that window alone."""

from __future__ import annotations

import math

import torch

from aegan.engine.scalars import StepAccumulator


def scalars(**values: float) -> dict[str, torch.Tensor]:
    return {k: torch.tensor(v, dtype=torch.float32) for k, v in values.items()}


def test_a_window_stays_in_device_buffers_until_it_is_read():
    """Consecutive steps with the same keys are only stacked: no fold, so no host copy."""
    stats = StepAccumulator()
    stats.ROWS = 3
    for step in range(7):
        stats.add(scalars(loss=float(step)), step)
    assert stats._sums == {} and len(stats._full) == 2 and stats._rows == 1
    assert stats.read() == ({"loss": 3.0}, 0, -1)


def test_a_clean_window_reports_no_nonfinite_step():
    stats = StepAccumulator()
    stats.add(scalars(loss=2.5), 40)
    assert stats.read() == ({"loss": 2.5}, 0, -1)  # one step: its own value


def test_a_step_after_a_gap_is_counted_at_its_own_number():
    stats = StepAccumulator()
    stats.add(scalars(loss=1.0), 0)
    stats.add(scalars(loss=math.nan), 5)
    assert stats.read() == ({"loss": 0.5}, 1, 5)


def test_the_first_nonfinite_step_is_kept_across_folds_until_the_read():
    stats = StepAccumulator()
    stats.add(scalars(loss=math.inf), 0)  # step 0: the first non-finite step
    stats.add(scalars(loss=1.0, other=1.0), 1)  # new keys: the rows so far are folded
    stats.add(scalars(loss=math.nan, other=1.0), 2)
    assert stats.read() == ({"loss": 1 / 3, "other": 1 / 3}, 2, 0)
    stats.add(scalars(loss=4.0, other=2.0), 3)  # the next window starts clean
    assert stats.read() == ({"loss": 4.0, "other": 2.0}, 0, -1)
    assert stats.steps == 0 and stats.read() == ({}, 0, -1)


def test_each_row_keeps_each_scalar_whole_whatever_the_first_is():
    """A bf16 loss next to a float32 one: the row keeps the float32 value whole."""
    stats = StepAccumulator()
    stats.add({"a": torch.tensor(1.0, dtype=torch.bfloat16), "b": torch.tensor(0.1234567)}, 0)
    assert stats.read() == ({"a": 1.0, "b": float(torch.tensor(0.1234567))}, 0, -1)


def test_the_sums_are_exact_to_float64():
    """1000 steps of 0.1 (as float32) summed in float64: within 1e-12 of the exact sum."""
    stats = StepAccumulator()
    value = torch.tensor(0.1)
    for step in range(1000):
        stats.add({"loss": value}, step)
    assert math.isclose(stats.read()[0]["loss"], value.item(), rel_tol=1e-12)


def test_the_first_bad_steps_scalars_are_kept_by_name_until_the_read():
    """Those not finite, and a float64 one beyond float32 (where TensorBoard keeps them), as
    they were: float32 rows made it infinite, and the stop line could not tell them apart."""
    stats = StepAccumulator()
    big = torch.tensor(1e39, dtype=torch.float64)
    stats.add({"loss": torch.tensor(1.0), "big": torch.tensor(2.0)}, 0)
    stats.add({"loss": torch.tensor(math.nan), "big": big}, 1)
    stats.add({"loss": torch.tensor(math.inf), "big": torch.tensor(2.0)}, 2)
    assert stats.nonfinite() == (2, 1)
    assert str(stats.first_bad) == "{'loss': nan, 'big': 1e+39}"
    assert stats.read() == ({"loss": 1 / 3, "big": 2 / 3}, 2, 1) and stats.first_bad == {}
