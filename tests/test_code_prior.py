"""The adversarial autoencoder's prior: a standard Gaussian, or 10 Gaussians on a circle or a
grid in the first two code dimensions, whose component a label picks."""

from __future__ import annotations

import math

import pytest
import torch

from aegan.errors import ConfigError
from aegan.tasks import build_task
from aegan.tasks.code_prior import CodePrior, check_prior_settings
from conftest import CPU, TINY_AE, compose_config

# the supervised variant as docs/models.md gives it: D's label input follows label_prior
SUPERVISED = ["model=aae", "model.prior=mixture", "model.label_prior=true"]


def test_the_mixture_prior_puts_each_label_on_its_component(tmp_path):
    cfg = compose_config([*TINY_AE, *SUPERVISED], tmp_path)
    task = build_task(cfg.model, (1, 28, 28), CPU)
    assert task.discriminator.num_labels == 10  # D sees the label as the prior does
    labels = torch.arange(10).repeat_interleave(500)
    draws = task.prior.sample(len(labels), labels)  # (5000, 32)
    centres = torch.stack([draws[labels == k, :2].mean(0) for k in range(10)])
    torch.testing.assert_close(centres, task.prior.means, atol=0.1, rtol=0)
    assert draws[:, 2:].std().item() == pytest.approx(1.0, abs=0.05)


def test_the_circle_lays_the_ten_means_at_radius_four_a_tenth_of_a_turn_apart():
    means = CodePrior("mixture", "circle", 8, CPU).means
    assert means.shape == (10, 2)
    torch.testing.assert_close(means[0], torch.tensor([4.0, 0.0]))
    torch.testing.assert_close(means[2], torch.tensor([4 * math.cos(0.4 * math.pi),
                                                       4 * math.sin(0.4 * math.pi)]))  # fmt: skip
    torch.testing.assert_close(means.norm(dim=1), torch.full((10,), 4.0))
    turns = torch.atan2(means[:, 1], means[:, 0]).remainder(2 * math.pi) / (2 * math.pi)
    torch.testing.assert_close(turns, torch.arange(10) / 10)


def test_the_grid_lays_the_ten_means_five_by_two_centred_two_and_a_half_apart():
    means = CodePrior("mixture", "grid", 8, CPU).means
    expected = {(x, y) for x in (-5.0, -2.5, 0.0, 2.5, 5.0) for y in (-1.25, 1.25)}
    assert {tuple(m) for m in means.tolist()} == expected


@pytest.mark.parametrize("layout", ["circle", "grid"])
def test_a_mixture_draw_is_its_components_mean_plus_half_a_standard_normal(layout):
    prior = CodePrior("mixture", layout, 6, CPU)
    labels = torch.arange(10).repeat(2000)
    generator = torch.Generator().manual_seed(0)
    draws = prior.sample(len(labels), labels, generator=generator)  # (20000, 6)
    noise = torch.randn(len(labels), 6, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(draws[:, :2], prior.means[labels] + 0.5 * noise[:, :2])
    torch.testing.assert_close(draws[:, 2:], noise[:, 2:])  # standard normal past the first two
    # no label: each component about as often, a draw near its own mean
    draws = prior.sample(20000, generator=generator)
    nearest = torch.cdist(draws[:, :2], prior.means).argmin(1)
    assert (torch.bincount(nearest, minlength=10) / 20000 - 0.1).abs().max() < 0.02


def test_the_gaussian_prior_is_a_standard_normal_and_takes_no_label():
    prior = CodePrior("gaussian", "circle", 4, CPU)
    draws = prior.sample(
        5, torch.zeros(5, dtype=torch.long), generator=torch.Generator().manual_seed(3)
    )
    torch.testing.assert_close(draws, torch.randn(5, 4, generator=torch.Generator().manual_seed(3)))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (("uniform", None, False),
         "model.prior='uniform' is not allowed; choose one of: gaussian, mixture"),
        (("mixture", "spiral", False),
         "model.prior_layout='spiral' is not allowed; choose one of: circle, grid"),
        (("gaussian", "grid", False),
         "model.prior_layout=grid is not allowed with model.prior=gaussian, which has no "
         "components to lay out: set model.prior=mixture, or leave model.prior_layout=null"),
        (("mixture", "circle", "yes"),
         "model.label_prior='yes' is not allowed: it must be true or false"),
        (("gaussian", None, True),
         "model.label_prior=true needs model.prior=mixture (the label picks its component)"),
    ],
)  # fmt: skip
def test_prior_settings_that_cannot_work_are_one_line(settings, message):
    with pytest.raises(ConfigError) as caught:
        check_prior_settings(*settings)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "settings",
    [("gaussian", None, False), ("gaussian", "circle", False), ("mixture", None, True),
     ("mixture", "circle", True), ("mixture", "grid", False)],
)  # fmt: skip
def test_prior_settings_that_work_pass(settings):
    check_prior_settings(*settings)  # circle with a Gaussian: what older runs recorded


def test_draws_with_a_generator_repeat_whatever_torchs_global_seed():
    """The fixed draws that evaluation compares across runs: components and noise alike."""
    prior = CodePrior("mixture", "circle", 4, CPU)
    draws = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        draws.append(prior.sample(50, generator=torch.Generator().manual_seed(7)))
    torch.testing.assert_close(draws[0], draws[1], atol=0, rtol=0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_prior_on_the_gpu_draws_there_what_it_draws_on_the_cpu():
    cuda = torch.device("cuda")
    for kind, labels in (("mixture", None), ("mixture", torch.arange(8) % 10), ("gaussian", None)):
        on_gpu = CodePrior(kind, "grid", 4, cuda)
        assert on_gpu.means.device.type == "cuda"
        draws = on_gpu.sample(8, labels, generator=torch.Generator().manual_seed(2))
        assert draws.device.type == "cuda"
        expected = CodePrior(kind, "grid", 4, CPU).sample(
            8, labels, generator=torch.Generator().manual_seed(2)
        )
        torch.testing.assert_close(draws.cpu(), expected)
        assert on_gpu.sample(8, labels).device.type == "cuda"  # no generator: drawn there
