"""A histogram in TensorBoard holds the values its bins can: NaN, inf and numbers beyond
1e20 are left out, said in one line, rather than dropped without a word or, all of them,
ending the run inside torch ("The histogram is empty, please file a bug report")."""

from __future__ import annotations

import logging

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from aegan.logger import TensorBoardLogger


def logged(tmp_path, values: list[float], caplog) -> tuple[list, list[str]]:
    """The histograms read back from the event file, and the warning lines."""
    logger = TensorBoardLogger(tmp_path)
    with caplog.at_level(logging.WARNING, logger="aegan.logger"):
        logger.histogram("val/kl_per_dim", torch.tensor(values), 7)
        logger.scalars({"x": 1.0}, 7)  # the event file exists either way
    logger.close()
    events = EventAccumulator(str(tmp_path), size_guidance={"histograms": 0})
    events.Reload()
    histograms = events.Histograms("val/kl_per_dim") if events.Tags()["histograms"] else []
    return histograms, [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("values", [[float("inf")], [float("nan")] * 3, [1e38, 3e38]])
def test_values_no_bin_holds_give_no_histogram_and_one_line(tmp_path, caplog, values):
    histograms, lines = logged(tmp_path, values, caplog)
    assert histograms == []
    assert lines == [
        f"val/kl_per_dim at step 7: {len(values)} of its {len(values)} values are NaN, inf or "
        "beyond 1e20, which TensorBoard cannot bin; the histogram shows the other 0"
    ]


def test_the_values_a_bin_holds_are_shown_and_the_others_said(tmp_path, caplog):
    histograms, lines = logged(tmp_path, [float("inf"), 1.0, float("nan"), 2.0, -3e21], caplog)
    (histogram,) = histograms
    assert histogram.step == 7 and histogram.histogram_value.num == 2
    assert (histogram.histogram_value.min, histogram.histogram_value.max) == (1.0, 2.0)
    assert lines == [
        "val/kl_per_dim at step 7: 3 of its 5 values are NaN, inf or beyond 1e20, which "
        "TensorBoard cannot bin; the histogram shows the other 2"
    ]
