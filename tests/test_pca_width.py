"""PCA with as many components as an image has pixel values reconstructs exactly: no MSE
of rounding error, and no ratio of the model's MSE over it, in a run that goes on."""

from __future__ import annotations

import logging

import pytest

from aegan.metrics.evaluation import evaluate
from aegan.metrics.scope import Settings
from conftest import synthetic_data


class Coder:
    metrics = ("pca",)

    def __init__(self, latent_dim: int):
        self.latent_dim = latent_dim

    def encode(self, x):
        return x.flatten(1)[:, : self.latent_dim]

    def reconstruct(self, x):
        return 0.5 * x


@pytest.mark.parametrize("latent_dim", [64, 1000])
def test_a_code_as_wide_as_an_image_reports_no_pca_mse(caplog, latent_dim):
    data = synthetic_data(200, shape=(1, 8, 8))  # 64 pixel values
    with caplog.at_level(logging.WARNING):
        figures = evaluate(Coder(latent_dim), data, ["pca"], Settings(progress=False))
    assert set(figures) == {"pca/probe_accuracy"}
    (line,) = [r.getMessage() for r in caplog.records]
    assert line == (
        f"pca: a code of {latent_dim} numbers holds all 64 pixel values of an image, so PCA at "
        "that size reconstructs every image exactly; pca/mse and test/mse_over_pca are left out"
    )


def test_a_narrower_code_keeps_pcas_figures():
    data = synthetic_data(200, shape=(1, 8, 8))
    figures = evaluate(Coder(63), data, ["pca"], Settings(progress=False))
    assert set(figures) == {"pca/mse", "pca/probe_accuracy", "test/mse_over_pca"}
    assert figures["pca/mse"] > 1e-6


@pytest.mark.parametrize("images", [1, 5, 8])
def test_a_code_wider_than_the_training_images_span_reports_no_pca_mse(caplog, images):
    """8 training images span 7 directions: pca/mse was PCA-7's, written as the code size's."""
    data = synthetic_data(images, shape=(1, 8, 8))
    with caplog.at_level(logging.WARNING):
        figures = evaluate(Coder(8), data, ["pca"], Settings(progress=False))
    assert set(figures) <= {"pca/probe_accuracy"}
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("pca: ")]
    assert line == (
        f"pca: the {images} training images span at most {images - 1} directions, fewer than "
        "the 8 numbers of a code, so they define no PCA of that size; pca/mse and "
        "test/mse_over_pca are left out"
    )
