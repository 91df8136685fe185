"""The IWAE bound, minutes on a full test split, says how far it has gone; its k decodes per
image are measured against broadcast images, not k copies of them."""

from __future__ import annotations

import logging

import pytest
import torch

import aegan.metrics.definitions
import aegan.metrics.progress
from aegan.metrics.evaluation import Evaluation
from aegan.metrics.scope import Settings
from aegan.tasks import build_task
from conftest import CPU, compose_config, synthetic_data


@pytest.fixture(scope="module")
def vae(tmp_path_factory):
    cfg = compose_config(["model=vae", "trainer.device=cpu"], tmp_path_factory.mktemp("iwae"))
    return build_task(cfg.model, (1, 28, 28), CPU)


def test_the_bound_says_its_progress_a_tenth_at_a_time(vae, monkeypatch, caplog):
    """It ran for minutes (k=1000 on 10,000 images) without a line: it seemed to hang."""
    monkeypatch.setattr(aegan.metrics.progress, "QUIET_FOR", 0.0)
    monkeypatch.setattr(aegan.metrics.definitions, "IWAE_BATCH", 40)  # 4 images a forward
    data = synthetic_data(256)
    data.test_images = data.test_images[:40]
    with caplog.at_level(logging.INFO, logger="aegan.evaluate"):
        figures = Evaluation(vae, data, Settings(iwae_samples=10)).compute(["iwae"])
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("iwae")]
    assert len(lines) == 10, lines
    assert lines[0].startswith("iwae (k=10): 4/40 test images (10%) in ")
    assert lines[-1].startswith("iwae (k=10): 40/40 test images (100%) in ")
    assert figures["test/iwae_images"] == 40


def test_a_quick_bound_stays_silent(vae, caplog):
    data = synthetic_data(256)
    with caplog.at_level(logging.INFO, logger="aegan.evaluate"):
        Evaluation(vae, data, Settings(iwae_samples=4, iwae_images=8)).compute(["iwae"])
    assert not [r for r in caplog.records if r.getMessage().startswith("iwae")]


@pytest.mark.parametrize("likelihood", [[], ["model.likelihood=gaussian"],
                                        ["model.likelihood=gaussian", "model.gaussian_scale=0.3"]])  # fmt: skip
def test_broadcast_likelihoods_are_those_of_k_copies(tmp_path, likelihood):
    cfg = compose_config(["model=vae", "trainer.device=cpu", *likelihood], tmp_path)
    vae = build_task(cfg.model, (1, 28, 28), CPU)
    x, k = torch.rand(3, 1, 28, 28), 5
    logits = torch.randn(3 * k, 1, 28, 28) * 4
    copies = vae.log_likelihood(logits, x.repeat_interleave(k, dim=0)).view(3, k)
    broadcast = vae._log_likelihoods(logits.view(3, k, -1), x.flatten(1))
    torch.testing.assert_close(broadcast, copies, rtol=1e-5, atol=1e-3)
