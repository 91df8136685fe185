"""KID's spread (kid_std) is over rounds of at most half of each set: with fewer than 4
samples a set every round is nearly the same draw, so the spread is refused, in the function
and as a final metric before any image is read, rather than reported as about 0."""

from __future__ import annotations

import pytest
import torch

from aegan.errors import ConfigError
from aegan.metrics.choice import check_metrics
from aegan.metrics.frechet import kernel_inception_distance
from aegan.metrics.scope import Scope, Settings


class Samples:
    metrics = ("kid",)

    def sample(self, count, generator):
        raise AssertionError("not computed by a check")


def features(count: int, seed: int) -> torch.Tensor:
    return torch.randn(count, 8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("count", [2, 3])
def test_a_spread_over_rounds_of_fewer_than_four_samples_is_refused(count):
    a, b = features(count, 0), features(count, 1) + 1
    with pytest.raises(ValueError, match=f"at least 4 samples in each set .*not {count}"):
        kernel_inception_distance(a, b)
    mean, std = kernel_inception_distance(a, b, subsets=1)  # the one estimate stands
    assert std == 0.0 and torch.isfinite(torch.tensor(mean))


def test_four_samples_give_rounds_of_two_that_differ():
    _, std = kernel_inception_distance(features(4, 0), features(4, 1) + 1)
    assert std > 0


@pytest.mark.parametrize(("test_images", "train_images"), [(3, 1000), (1000, 19)])
def test_kid_on_fewer_than_four_images_is_refused_before_any_is_read(test_images, train_images):
    scope = Scope(Settings(), (1, 16, 16), test_images, train_images=train_images, classes=10)
    with pytest.raises(ConfigError) as refused:
        check_metrics(Samples(), None, scope=scope)
    assert "final metric kid: it needs at least 4" in str(refused.value)
    assert "\n" not in str(refused.value)
    scope = Scope(Settings(), (1, 16, 16), 4, train_images=20, classes=10)
    assert check_metrics(Samples(), None, scope=scope) == ("kid",)
