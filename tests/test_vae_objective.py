"""The VAE's step against its definition: each likelihood against torch.distributions, the
loss and the figures a step reports, autocast in its forward, and prior draws that a
generator fixes."""

from __future__ import annotations

import pytest
import torch

from aegan.amp import Amp
from aegan.data import normalize
from aegan.errors import ConfigError
from aegan.models.vae import reparameterize
from aegan.tasks import VaeTask, build_task
from aegan.tasks.vae import gaussian_kl
from conftest import CPU, TINY_AE, compose_config, synthetic_data

TINY_VAE = [o for o in TINY_AE if not o.startswith("evaluate")] + ["model=vae"]


def vae_task(tmp_path, *overrides: str) -> VaeTask:
    cfg = compose_config([*TINY_VAE, *overrides], tmp_path)
    return build_task(cfg.model, (1, 28, 28), CPU)


@pytest.mark.parametrize("scale", [None, "learned", 0.1])
def test_each_likelihood_is_torchs_log_density_summed_over_pixels(scale, tmp_path):
    if scale is None:
        task = vae_task(tmp_path)
    else:
        fixed = [] if scale == "learned" else [f"model.gaussian_scale={scale}"]
        task = vae_task(tmp_path, "model.likelihood=gaussian", *fixed)
    logits, x = torch.randn(3, 1, 28, 28), torch.rand(3, 1, 28, 28)
    if scale is None:  # Bernoulli on grey pixels: x log p + (1 - x) log(1 - p)
        density = torch.distributions.Bernoulli(logits=logits, validate_args=False)
    else:
        if scale == "learned":
            with torch.no_grad():
                task.scale.log_scale.fill_(-0.7)  # not 0, where sigma and 1 / sigma agree
        sigma = task.scale.log_scale.exp()
        density = torch.distributions.Normal(torch.sigmoid(logits), sigma)
    expected = density.log_prob(x).flatten(1).sum(1)  # (3,)
    torch.testing.assert_close(task.log_likelihood(logits, x), expected)


def test_a_step_reports_the_loss_it_descends_and_its_terms(tmp_path):
    """The loss is the mean over images of beta KL - log p(x|z) at one reparameterised z."""
    task = vae_task(tmp_path, "model.beta=4")
    batch = synthetic_data().train_images[:16]  # (16, 1, 28, 28) uint8
    x = normalize(batch, "unit")
    torch.manual_seed(0)
    with torch.no_grad():
        mean, logvar = task.net.encode(x)
        log_px = task.log_likelihood(task.net.decode_logits(reparameterize(mean, logvar)), x)
        kl = gaussian_kl(mean, logvar).sum(1)  # (16,)
    torch.manual_seed(0)  # the same draw of z in the step
    stats = task.train_step(batch, Amp("fp32", CPU))
    assert set(stats) == {"train/loss", "train/recon_nll", "train/kl", "train/kl_weight"}
    torch.testing.assert_close(stats["train/loss"], (4 * kl - log_px).mean())
    torch.testing.assert_close(stats["train/recon_nll"], -log_px.mean())
    torch.testing.assert_close(stats["train/kl"], kl.mean())
    assert stats["train/kl_weight"].item() == 4.0


def test_a_bf16_step_runs_its_networks_in_bf16(tmp_path):
    task = vae_task(tmp_path)
    dtypes = []
    linears = [m for m in task.net.modules() if isinstance(m, torch.nn.Linear)]
    for layer in linears:
        layer.register_forward_hook(lambda _m, _i, out: dtypes.append(out.dtype))
    task.train_step(synthetic_data().train_images[:8], Amp("bf16", CPU))
    assert len(dtypes) == len(linears) and set(dtypes) == {torch.bfloat16}


def test_prior_samples_drawn_with_a_generator_repeat_whatever_torchs_global_seed(tmp_path):
    task = vae_task(tmp_path)
    draws = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        draws.append(task.sample(4, generator=torch.Generator().manual_seed(5)))
    assert draws[0].shape == (4, 1, 28, 28)
    torch.testing.assert_close(draws[0], draws[1], atol=0, rtol=0)


def test_the_benchmarks_tutorial_loop_descends_the_same_negative_elbo(tmp_path):
    """``aegan.bench`` times the engine's step against this loop: it must train the model
    the engine trains, on the same objective, or the comparison is of different work."""
    task = vae_task(tmp_path)
    x = torch.zeros(32, 1, 28, 28)  # a tutorial's ToTensor floats: the top half white
    x[:, :, :14] = 1.0
    torch.manual_seed(0)
    before = sum(t.mean() for t in task.elbo_terms(x)).item()
    weights = [p.detach().clone() for p in task.net.parameters()]
    step = task.tutorial_step(lambda: (x, None))
    for _ in range(50):
        step()
    moved = [not torch.equal(w, p) for w, p in zip(weights, task.net.parameters(), strict=True)]
    torch.manual_seed(0)
    after = sum(t.mean() for t in task.elbo_terms(x)).item()
    assert all(moved) and after < before / 4, (before, after)  # nats per image: 544 to 30


class EncoderOnly(torch.nn.Module):
    """A network without the decoder the VAE calls."""

    def __init__(self, **sizes) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(784, 2)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.layer(x.flatten(1)).chunk(2, dim=1)


def test_a_network_without_the_vaes_methods_is_refused_naming_them(tmp_path):
    with pytest.raises(ConfigError, match=r"^model\.net.*decode_logits"):
        vae_task(tmp_path, "model.net._target_=test_vae_objective.EncoderOnly")


def test_the_pictures_fixed_noise_is_drawn_by_its_seed(tmp_path):
    a, b, c = (vae_task(tmp_path, f"model.noise_seed={s}").fixed_noise for s in (3, 3, 4))
    expected = torch.randn(64, 32, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, expected, atol=0, rtol=0)
    assert torch.equal(a, b) and not torch.equal(a, c)
