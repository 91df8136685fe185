"""A linear probe fitted on training codes of one class measures nothing (it scores that
class's share of the test images; fitted on one code, it standardised by a NaN spread): its
figure is left out, said in one line, the model's and PCA's alike."""

from __future__ import annotations

import logging
import warnings

import pytest
import torch

from aegan.data import ImageData
from aegan.metrics.evaluation import evaluate
from aegan.metrics.scope import Settings


class Coder:
    metrics = ("probe", "pca")
    latent_dim = 4

    def encode(self, x):
        return x.flatten(1)[:, :4]


def data_with(train_labels: list[int]) -> ImageData:
    generator = torch.Generator().manual_seed(0)
    train = torch.randint(0, 256, (len(train_labels), 1, 8, 8), dtype=torch.uint8,
                          generator=generator)  # fmt: skip
    test = torch.randint(0, 256, (20, 1, 8, 8), dtype=torch.uint8, generator=generator)
    return ImageData("synthetic", train, torch.tensor(train_labels), test[:2], torch.arange(2),
                     test, torch.arange(20) % 2, ("a", "b"), "test")  # fmt: skip


@pytest.mark.parametrize("train_labels", [[1], [0, 0, 0, 0, 0, 0]])
def test_a_probe_fitted_on_one_class_is_left_out(caplog, train_labels):
    with caplog.at_level(logging.WARNING), warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's "std(): degrees of freedom is <= 0"
        figures = evaluate(Coder(), data_with(train_labels), ["probe", "pca"],
                           Settings(progress=False))  # fmt: skip
    assert "probe/accuracy" not in figures and "pca/probe_accuracy" not in figures
    lines = [r.getMessage() for r in caplog.records if "probe" in r.getMessage()]
    assert lines == [
        f"{key}: the {len(train_labels)} training images the probe is fitted on hold one class, "
        "so it measures nothing; it is left out (use more training images: data.subset)"
        for key in ("probe/accuracy", "pca/probe_accuracy")
    ]


def test_a_probe_fitted_on_two_classes_is_kept():
    figures = evaluate(Coder(), data_with([0, 1, 0, 1, 0, 1]), ["probe", "pca"],
                       Settings(progress=False))  # fmt: skip
    assert 0 <= figures["probe/accuracy"] <= 1 and 0 <= figures["pca/probe_accuracy"] <= 1
