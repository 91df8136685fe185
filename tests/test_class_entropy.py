"""The entropy of a class histogram: +0.0 where every sample falls in one class, never the
-0.0 that metrics.json and the console would show as "-0"."""

from __future__ import annotations

import math

import pytest
import torch

from aegan.metrics.classes import class_histogram_stats, entropy_nats


def test_one_class_has_an_entropy_of_positive_zero():
    stats = class_histogram_stats(torch.zeros(50, dtype=torch.long), torch.arange(10), 10)
    assert stats["entropy"] == 0.0 and math.copysign(1.0, stats["entropy"]) == 1.0
    assert f"{stats['entropy']:.6g}" == "0"


def test_rows_of_one_value_each_have_an_entropy_of_positive_zero():
    shares = torch.eye(4, dtype=torch.float64)  # InfoGAN's code values, one class each
    assert math.copysign(1.0, entropy_nats(shares).mean().item()) == 1.0


def test_the_entropy_is_minus_the_sum_of_p_log_p():
    generator = torch.Generator().manual_seed(0)
    shares = torch.rand(5, 7, generator=generator, dtype=torch.float64)
    shares[:, 0] = 0  # an empty class adds nothing
    shares /= shares.sum(1, keepdim=True)
    expected = [-sum(p * math.log(p) for p in row if p > 0) for row in shares.tolist()]
    assert entropy_nats(shares).tolist() == pytest.approx(expected, rel=1e-12)
