"""The VAE's likelihood metrics: the caller's random streams as they were after their draws,
and the IWAE bound's k decodes per image measured without a second tensor their size."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from aegan.metrics.evaluation import Evaluation
from aegan.metrics.scope import Settings
from aegan.tasks import build_task
from conftest import CPU, compose_config, synthetic_data

METRICS = ["elbo", "iwae"]


def _vae(tmp_path, device: torch.device):
    cfg = compose_config(["model=vae", f"trainer.device={device.type}"], tmp_path)
    return build_task(cfg.model, (1, 28, 28), device)


@pytest.fixture(scope="module")
def vae(tmp_path_factory):
    return _vae(tmp_path_factory.mktemp("draws"), CPU)


def test_the_callers_cpu_stream_is_as_it_was_after_the_bounds(vae):
    settings = Settings(iwae_samples=4, iwae_images=8, progress=False)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    figures = Evaluation(vae, synthetic_data(64), settings).compute(METRICS)
    assert torch.equal(torch.rand(3), expected)
    again = Evaluation(vae, synthetic_data(64), settings).compute(METRICS)
    assert again == figures  # their own seeded draws, whatever the caller drew before


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_callers_cuda_streams_are_as_they_were_after_the_bounds(tmp_path):
    """``torch.manual_seed`` inside the metrics reseeded every card's stream, and only the
    CPU's was given back: a notebook drawing on the GPU between evaluations repeated itself."""
    device = torch.device("cuda", torch.cuda.current_device())
    vae, data = _vae(tmp_path, device), synthetic_data(64)
    data.test_images = data.test_images.to(device)
    torch.cuda.manual_seed_all(123)
    torch.randn(5, device=device)  # the caller's stream, somewhere past its seed
    states = torch.cuda.get_rng_state_all()
    Evaluation(vae, data, Settings(iwae_samples=4, iwae_images=8, progress=False)).compute(METRICS)
    for card, (after, before) in enumerate(
        zip(torch.cuda.get_rng_state_all(), states, strict=True)
    ):
        assert torch.equal(after, before), f"cuda:{card}'s stream was left reseeded"


def test_the_bound_pages_in_no_second_tensor_the_size_of_the_logits(vae):
    """softplus of the k decodes' logits was a new tensor their size (63 MB at 20,000
    decodes), paged in afresh at each forward: a fifth of the IWAE bound's time on the CPU."""
    x, k = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(0)), 200
    with torch.profiler.profile(profile_memory=True) as profile:
        vae.log_importance_weights(x, k)
    logits_bytes = 5 * k * 784 * 4
    large = [e.name for e in profile.events() if e.self_cpu_memory_usage >= logits_bytes]
    assert len(large) == 1, large  # the decoder's output, and nothing else


def test_the_bernoulli_sum_is_l_x_less_softplus_in_float64(vae):
    generator = torch.Generator().manual_seed(0)
    logits = torch.linspace(-50, 50, 3 * 4 * 784, dtype=torch.float64)
    logits = logits[torch.randperm(len(logits), generator=generator)].view(3, 4, 784)  # (B, k, P)
    x = torch.rand(3, 784, generator=generator, dtype=torch.float64)
    x[0] = x[0].round()  # binary images too
    expected = (logits * x[:, None]).sum(2) - F.softplus(logits).sum(2)
    got = vae._log_likelihoods(logits.clone(), x)
    # F.softplus returns l itself past l = 20: off by up to 2e-9 a pixel, in the old formula
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-7)
