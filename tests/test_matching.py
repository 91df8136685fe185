"""The statistics of the hybrids' metrics against what they must give: the MMD of the AAE's
codes to its prior, and the one-to-one matching of InfoGAN's code values to classes."""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import pytest
import torch

from aegan.metrics.definitions import CODE_SAMPLES
from aegan.metrics.evaluation import Evaluation
from aegan.metrics.matching import best_matching, median_distance, mmd_squared
from aegan.metrics.scope import Settings


def test_mmd_is_zero_for_one_sample_and_grows_with_a_shift():
    torch.manual_seed(0)
    a = torch.randn(500, 4)
    bandwidth = median_distance(a)
    assert mmd_squared(a, a, bandwidth) == pytest.approx(0.0, abs=1e-12)
    near, far = a + 0.1, a + 1.0
    assert 0 < mmd_squared(a, near, bandwidth) < mmd_squared(a, far, bandwidth)
    # the closed form for two points: 2 - 2 k(x, y)
    x, y = torch.zeros(1, 2), torch.tensor([[3.0, 4.0]])
    assert mmd_squared(x, y, 5.0) == pytest.approx(2 - 2 * torch.exp(torch.tensor(-0.5)).item())


@pytest.mark.parametrize(("rows", "cols"), [(4, 6), (6, 4), (1, 3), (3, 1)])
def test_a_rectangular_matching_is_the_brute_force_one(rows, cols):
    """More code values than classes leave values unmatched (-1); fewer may use any class."""
    counts = torch.randint(0, 100, (rows, cols), generator=torch.Generator().manual_seed(rows))
    columns, total = best_matching(counts)
    slots = [*range(cols), *[-1] * max(0, rows - cols)]  # -1: no class for that row
    best = max(
        sum(counts[i, c].item() for i, c in enumerate(pick) if c >= 0)
        for pick in itertools.permutations(slots, rows)
    )
    assert total == best == sum(counts[i, c].item() for i, c in enumerate(columns) if c >= 0)
    assert len(columns) == rows and columns.count(-1) == max(0, rows - cols)
    matched = [c for c in columns if c >= 0]
    assert len(set(matched)) == len(matched)


class ThresholdClassifier(torch.nn.Module):
    """Class k for images of mean brightness near k / 9: a known classifier for the metric."""

    def __init__(self) -> None:
        super().__init__()
        self.centres = torch.nn.Parameter(torch.linspace(0, 1, 10), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -(x.flatten(1).mean(1, keepdim=True) - self.centres).abs()  # (B, 10)


class CodedTask:
    """Images whose class is ``classes[value]`` for most of each code value's samples."""

    metrics = ("code_control",)

    def __init__(self, classes: list[int]) -> None:
        self.categories, self.classes = len(classes), classes

    def generate_with_code(self, value: int, n: int, generator=None) -> torch.Tensor:
        brightness = torch.full((n,), self.classes[value] / 9)
        brightness[: n // 4] = (self.classes[value] + 1) % 10 / 9  # a quarter elsewhere
        return brightness.view(n, 1, 1, 1).expand(n, 1, 4, 4)


@pytest.mark.parametrize("classes", [[3, 1, 4, 0, 9], [2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5]])
def test_code_control_matches_values_to_classes_one_to_one(classes):
    data = SimpleNamespace(
        test_images=torch.zeros(1, 1, 4, 4), classes=[str(k) for k in range(10)], binarized=False
    )
    evaluation = Evaluation(CodedTask(classes), data, Settings(samples=100))
    evaluation.classifier = ThresholdClassifier()  # in place of the cached domain classifier
    counts = evaluation.code_class_counts(CODE_SAMPLES)
    assert counts.shape == (len(classes), 10) and (counts.sum(1) == CODE_SAMPLES).all()
    out = evaluation.compute(["code_control"])
    columns, total = best_matching(counts)
    assert out["info/matched_accuracy"] == total / counts.sum().item()
    for value, column in enumerate(columns):
        assert out[f"info/code{value}_class"] == column
        share = counts[value, column].item() / CODE_SAMPLES if column >= 0 else 0.0
        assert out[f"info/code{value}_share"] == pytest.approx(share)
    if len(set(classes)) == len(classes):  # distinct classes: each value gets its own
        assert columns == classes and out["info/matched_accuracy"] == 0.75
        assert out["info/code_class_entropy"] == pytest.approx(
            -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
        )


def test_the_best_matching_is_the_brute_force_one():
    torch.manual_seed(1)
    counts = torch.randint(0, 100, (6, 6))
    columns, total = best_matching(counts)
    best = max(
        itertools.permutations(range(6)), key=lambda p: sum(counts[i, p[i]] for i in range(6))
    )
    assert total == sum(counts[i, best[i]].item() for i in range(6))
    assert sorted(columns) == list(range(6)) and total == sum(
        counts[i, c] for i, c in enumerate(columns)
    )


def test_the_bandwidth_is_the_median_of_the_distances_between_two_different_points():
    """Not the zeros of each point to itself: three points at 0, 1 and 3 are 1, 2 and 3
    apart, so the median is 2."""
    assert median_distance(torch.tensor([[0.0], [1.0], [3.0]])) == 2.0
    points = torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [0.0, 1.0]])  # 5, 10, 1, ...
    distances = [5.0, 10.0, 1.0, 5.0, math.hypot(6, 7), math.hypot(3, 3)]
    assert median_distance(points) == pytest.approx(sorted(distances)[2])  # torch: the lower


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (3, 0), (4,), (2, 2, 2)])
def test_an_empty_matching_or_not_a_matrix_is_refused(shape):
    with pytest.raises(ValueError) as caught:
        best_matching(torch.zeros(shape, dtype=torch.long))
    assert str(caught.value) == f"expected a matrix of at least one row and column, got {shape}"


@pytest.mark.parametrize(("rows", "cols"), [(10, 17), (17, 10), (16, 40)])
def test_a_matching_to_more_than_sixteen_classes_is_exact(rows, cols):
    """InfoGAN on an image folder of 17 classes: its evaluation ended in 'expected a matrix
    of at most 16 rows and columns' after training."""
    generator = torch.Generator().manual_seed(rows)
    counts = torch.randint(0, 5, (rows, cols), generator=generator)
    short = min(rows, cols)  # a planted best: 100 on a one-to-one diagonal of the short side
    order = torch.randperm(max(rows, cols), generator=generator)[:short]
    pairs = (torch.arange(short), order) if rows <= cols else (order, torch.arange(short))
    counts[pairs] = 100
    columns, total = best_matching(counts)
    assert total == 100 * short
    expected = [-1] * rows
    for row, column in zip(*(p.tolist() for p in pairs), strict=True):
        expected[row] = column
    assert columns == expected


def test_a_matching_of_sixteen_values_is_exact():
    counts = torch.zeros(16, 16, dtype=torch.long)
    order = torch.randperm(16, generator=torch.Generator().manual_seed(0))
    counts[torch.arange(16), order] = 5  # one best assignment, of 16 x 5
    counts[0, :] += 1
    columns, total = best_matching(counts)
    assert columns == order.tolist() and total == 81
    assert best_matching(torch.tensor([[7]])) == ([0], 7)


@pytest.mark.parametrize("which", ["sample", "task", None])
def test_a_set_of_images_the_classifier_reads_is_named_or_refused(which):
    """class_histogram("sample") trained the domain classifier (a minute) and then failed in
    AttributeError: 'Evaluation' object has no attribute 'sample'; "task" read the task."""
    data = SimpleNamespace(
        test_images=torch.zeros(1, 1, 4, 4), classes=[str(k) for k in range(10)], binarized=False
    )
    evaluation = Evaluation(CodedTask([0, 1]), data, Settings(samples=100))
    for method in (evaluation.class_histogram, evaluation.classes, evaluation.features):
        with pytest.raises(ValueError) as refused:
            method(which)
        assert str(refused.value) == f"which={which!r}: choose one of samples, floor, real"
    assert "classifier" not in vars(evaluation)  # refused before it was trained
