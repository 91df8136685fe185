"""GAN losses and penalties against values worked out by hand."""

import pytest
import torch
from torch import nn

from aegan.losses import (
    GAN_LOSSES,
    GanLoss,
    get_gan_loss,
    gradient_penalty,
    r1_penalty,
)
from aegan.models.dcgan import Discriminator

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])

# softplus(x) = log(1 + e^x):
# softplus(-2) = 0.126928, softplus(1) = 1.313262, softplus(0.5) = 0.974077,
# softplus(-3) = 0.048587, softplus(-0.5) = 0.474077, softplus(3) = 3.048587
EXPECTED = {
    # D: (0.126928 + 1.313262) / 2 + (0.974077 + 0.048587) / 2 = 0.720095 + 0.511332
    # G: (0.474077 + 3.048587) / 2
    "ns": (1.2314270, 1.7613322),
    # D: 0.5 * ((2-1)^2 + (-1-1)^2) / 2 + 0.5 * (0.5^2 + (-3)^2) / 2 = 1.25 + 2.3125
    # G: 0.5 * ((0.5-1)^2 + (-3-1)^2) / 2 = 0.5 * (0.25 + 16) / 2
    "lsgan": (3.5625, 4.0625),
    # D: mean(fake) - mean(real) = -1.25 - 0.5;  G: -mean(fake) = 1.25
    "wgan_gp": (-1.75, 1.25),
    # D: (relu(1-2) + relu(1+1)) / 2 + (relu(1+0.5) + relu(1-3)) / 2 = (0 + 2)/2 + (1.5 + 0)/2
    # G: -mean(fake) = 1.25
    "hinge": (1.75, 1.25),
}


@pytest.mark.parametrize("name", ["ns", "lsgan", "wgan_gp", "hinge"])
def test_losses_match_hand_values(name):
    loss = get_gan_loss(name)
    d_expected, g_expected = EXPECTED[name]
    assert loss.name == name
    d_loss, g_loss = loss.discriminator(REAL, FAKE), loss.generator(FAKE)
    assert d_loss.shape == () and d_loss.dtype == torch.float32
    assert d_loss.item() == pytest.approx(d_expected, abs=1e-6)
    assert g_loss.item() == pytest.approx(g_expected, abs=1e-6)


@pytest.mark.parametrize("name", ["ns", "lsgan", "wgan_gp", "hinge"])
def test_losses_are_fp32_for_bf16_logits_and_stable(name):
    loss = GAN_LOSSES[name]
    assert loss.discriminator(REAL.bfloat16(), FAKE.bfloat16()).dtype == torch.float32
    assert loss.generator(FAKE.bfloat16()).dtype == torch.float32
    huge = torch.tensor([1e4, -1e4])
    assert torch.isfinite(loss.discriminator(huge, -huge))
    assert torch.isfinite(loss.generator(huge))


def test_ns_loss_equals_bce_with_logits():
    bce = nn.functional.binary_cross_entropy_with_logits
    expected = bce(REAL, torch.ones(2)) + bce(FAKE, torch.zeros(2))
    assert get_gan_loss("ns").discriminator(REAL, FAKE).item() == pytest.approx(expected.item())


def test_gan_loss_registry_and_error():
    assert list(GAN_LOSSES) == ["ns", "lsgan", "wgan_gp", "hinge"]
    assert all(isinstance(loss, GanLoss) for loss in GAN_LOSSES.values())
    with pytest.raises(ValueError) as error:
        get_gan_loss("xyz")
    assert str(error.value) == (
        "model.loss='xyz' is not a GAN loss; choose one of: ns, lsgan, wgan_gp, hinge"
    )


def linear_critic() -> nn.Module:
    """D(x) = <w, x> on flattened (1, 2, 2) images with w = (3, 4, 0, 0), ||w|| = 5."""
    critic = nn.Sequential(nn.Flatten(), nn.Linear(4, 1, bias=False), nn.Flatten(0))
    with torch.no_grad():
        critic[1].weight.copy_(torch.tensor([[3.0, 4.0, 0.0, 0.0]]))
    return critic


def test_gradient_penalty_of_linear_critic():
    # grad_x D = w everywhere, so GP = (||w|| - 1)^2 = (5 - 1)^2 = 16 for any interpolate,
    # and d GP / d w = 2 (||w|| - 1) w / ||w|| = 1.6 w = (4.8, 6.4, 0, 0).
    critic = linear_critic()
    real, fake = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    penalty = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(0))
    assert penalty.dtype == torch.float32
    assert penalty.item() == pytest.approx(16.0, rel=1e-6)
    penalty.backward()  # possible only because of create_graph=True
    expected_grad = torch.tensor([[4.8, 6.4, 0.0, 0.0]])
    torch.testing.assert_close(critic[1].weight.grad, expected_grad)


def test_gradient_penalty_is_fp32_under_autocast_and_reproducible():
    critic = linear_critic()
    real, fake = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        penalty = gradient_penalty(critic, real.bfloat16(), fake.bfloat16())
    assert penalty.dtype == torch.float32
    assert penalty.item() == pytest.approx(16.0, rel=1e-6)  # exact: the critic ran in fp32

    def first_interpolate(seed: int) -> torch.Tensor:
        seen = []

        def recording_critic(images: torch.Tensor) -> torch.Tensor:
            seen.append(images.detach())
            return critic(images)

        gradient_penalty(
            recording_critic, real, fake, generator=torch.Generator().manual_seed(seed)
        )
        return seen[0]

    assert torch.equal(first_interpolate(1), first_interpolate(1))
    assert not torch.equal(first_interpolate(1), first_interpolate(2))


def test_r1_penalty_of_linear_critic():
    # d<w, x>/dx = w, so R1 = ||w||^2 = 3^2 + 4^2 = 25 per sample, and d R1 / d w = 2 w.
    critic = linear_critic()
    real = torch.randn(3, 1, 2, 2).requires_grad_(True)
    penalty = r1_penalty(critic(real), real)
    assert penalty.dtype == torch.float32
    assert penalty.item() == pytest.approx(25.0, rel=1e-6)
    penalty.backward()
    torch.testing.assert_close(critic[1].weight.grad, torch.tensor([[6.0, 8.0, 0.0, 0.0]]))


def test_r1_penalty_needs_images_that_require_grad():
    critic = linear_critic()
    real = torch.randn(3, 1, 2, 2)
    with pytest.raises(ValueError, match="requires_grad"):
        r1_penalty(critic(real), real)


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_penalties_backpropagate_through_the_dcgan_discriminator(spectral_norm):
    torch.manual_seed(0)
    discriminator = Discriminator(spectral_norm=spectral_norm)
    real, fake = torch.rand(2, 1, 28, 28) * 2 - 1, torch.rand(2, 1, 28, 28) * 2 - 1
    with torch.autocast("cpu", dtype=torch.bfloat16):
        penalty = gradient_penalty(discriminator, real, fake)
    real.requires_grad_(True)
    penalty = penalty + r1_penalty(discriminator(real), real)
    assert torch.isfinite(penalty)
    penalty.backward()
    grads = [p.grad for p in discriminator.parameters() if p.grad is not None]
    assert len(grads) == 5  # every parameter but the head's bias, which no input gradient sees
    assert all(torch.isfinite(g).all() for g in grads)
