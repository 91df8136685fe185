"""The IWAE bound of a real (tiny) VAE drawn in blocks: at most ``IWAE_BATCH`` decodes per
forward pass whatever k and the image count, every image given its k draws, and the bound
the same figure, within its Monte Carlo error, whichever blocks drew it."""

from __future__ import annotations

import pytest

from aegan.metrics import definitions
from aegan.metrics.evaluation import Evaluation
from aegan.metrics.scope import Settings
from aegan.tasks import build_task
from conftest import CPU, compose_config, synthetic_data

K, IMAGES = 5000, 7  # 7: no block size divides it
SHAPE = (1, 4, 4)  # tiny images: the k decodes of each cost little


@pytest.fixture(scope="module")
def vae(tmp_path_factory):
    overrides = ["model=vae", "model.hidden_dims=[8]", "model.latent_dim=2"]
    cfg = compose_config(overrides, tmp_path_factory.mktemp("iwae") / "run")
    return build_task(cfg.model, SHAPE, CPU)


def bound(vae, monkeypatch, block: int, k: int = K) -> tuple[dict, list[tuple[int, int]]]:
    """The ``iwae`` metric's figures with ``block`` decodes per forward at most, and the
    (images, draws) of each forward it made."""
    monkeypatch.setattr(definitions, "IWAE_BATCH", block)
    forwards, weights = [], vae.log_importance_weights

    def counted(x, draws):  # the task's own, counted
        forwards.append((len(x), draws))
        return weights(x, draws)

    monkeypatch.setattr(vae, "log_importance_weights", counted)
    settings = Settings(iwae_samples=k, iwae_images=IMAGES, progress=False)
    return Evaluation(vae, synthetic_data(64, SHAPE), settings).compute(["iwae"]), forwards


@pytest.mark.parametrize(
    ("block", "k", "expected"),
    [(definitions.IWAE_BATCH, K, [(4, 5000), (3, 5000)]),  # the real block: 4 images each
     (1200, K, [(1, 1200)] * 4 + [(1, 200)]),  # k above it: each image in five draws
     (1200, 300, [(4, 300), (3, 300)])],
)  # fmt: skip
def test_each_forward_decodes_at_most_a_block(vae, monkeypatch, block, k, expected):
    figures, forwards = bound(vae, monkeypatch, block, k)
    if block < k:
        expected = expected * IMAGES
    assert forwards == expected
    assert all(images * draws <= block for images, draws in forwards)
    assert sum(images * draws for images, draws in forwards) == k * IMAGES
    assert figures["test/iwae_k"] == k and figures["test/iwae_images"] == IMAGES
    assert figures["test/iwae_nll"] <= figures["test/iwae_neg_elbo"]  # the tighter bound


def test_the_bound_is_one_figure_whatever_the_blocks(vae, monkeypatch):
    """Blocks draw the same distribution (their own random numbers: the CPU's normal draws
    come 16 at a time, so a block's count of them decides which each image gets) and their
    log weights meet in one float64 logsumexp: the figures agree to far below a nat."""
    figures = [bound(vae, monkeypatch, block)[0]["test/iwae_nll"] for block in (20000, 1200, 64)]
    assert max(figures) - min(figures) < 0.01, figures
