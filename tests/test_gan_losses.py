"""GAN losses and penalties against values worked out by hand."""

import copy

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


# Logits of +-1e4: log(sigmoid(x)) would be -inf or nan there; the exact values are
# ns: softplus(-1e4) = 0 and softplus(1e4) = 1e4; lsgan: (1e4 - 1)^2 + (1e4 + 1)^2 = 2e8 + 2
HUGE_EXPECTED = {
    "ns": (1e4, 5e3),  # D: (0 + 1e4) / 2 + (0 + 1e4) / 2;  G: (0 + 1e4) / 2
    "lsgan": (0.5 * (2e8 + 2) / 2 + 0.5 * 1e8, 0.5 * (2e8 + 2) / 2),
    "wgan_gp": (0.0, 0.0),
    "hinge": (10001.0, 0.0),  # D: (0 + 10001) / 2 + (0 + 10001) / 2
}


@pytest.mark.parametrize("name", ["ns", "lsgan", "wgan_gp", "hinge"])
def test_losses_are_fp32_for_bf16_logits_and_exact_for_huge_ones(name):
    loss = GAN_LOSSES[name]
    d_bf16 = loss.discriminator(REAL.bfloat16(), FAKE.bfloat16())
    g_bf16 = loss.generator(FAKE.bfloat16())
    assert d_bf16.dtype == g_bf16.dtype == torch.float32
    # REAL and FAKE are exact in bf16, so the fp32 losses of their bf16 copies are the same
    assert d_bf16.item() == pytest.approx(EXPECTED[name][0], abs=1e-6)
    assert g_bf16.item() == pytest.approx(EXPECTED[name][1], abs=1e-6)
    huge = torch.tensor([1e4, -1e4])
    d_expected, g_expected = HUGE_EXPECTED[name]
    assert loss.discriminator(huge, -huge).item() == pytest.approx(d_expected, rel=1e-6)
    assert loss.generator(huge).item() == pytest.approx(g_expected, rel=1e-6)


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
        "model.loss='xyz' is not a GAN loss here; choose one of: ns, lsgan, wgan_gp, hinge"
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


def linear_critic_3ch() -> nn.Module:
    critic = nn.Sequential(nn.Flatten(), nn.Linear(12, 1, bias=False), nn.Flatten(0))
    nn.init.normal_(critic[1].weight, generator=torch.Generator().manual_seed(0))
    return critic


def recorded_penalty(critic, real, fake, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """gradient_penalty's value and the interpolates its critic saw."""
    seen = []

    def recording_critic(images: torch.Tensor) -> torch.Tensor:
        seen.append(images.detach().clone())
        return critic(images)

    generator = torch.Generator().manual_seed(seed)
    return gradient_penalty(recording_critic, real, fake, generator=generator), seen[0]


def test_gradient_penalty_interpolates_on_the_segment_with_one_alpha_per_sample():
    generator = torch.Generator().manual_seed(0)
    real = torch.rand(4, 3, 2, 2, generator=generator) + 1.0  # real - fake >= 0.5 everywhere
    fake = torch.rand(4, 3, 2, 2, generator=generator) - 0.5
    _, interpolates = recorded_penalty(linear_critic_3ch(), real, fake, seed=1)
    assert interpolates.shape == real.shape and interpolates.dtype == torch.float32
    # x_hat = alpha real + (1 - alpha) fake  <=>  alpha = (x_hat - fake) / (real - fake)
    alpha = ((interpolates - fake) / (real - fake)).flatten(1)  # (B, C*H*W)
    torch.testing.assert_close(alpha, alpha[:, :1].expand_as(alpha))  # one alpha per sample
    assert ((alpha > 0) & (alpha < 1)).all()
    assert alpha[:, 0].unique().numel() == 4  # and a different one for each sample


def test_gradient_penalty_of_a_quadratic_critic_is_taken_at_the_interpolates():
    """D(x) = ||x||^2 / 2 has gradient x, so GP = mean((||x_hat|| - 1)^2): unlike a linear
    critic's, it depends on where the interpolates are."""

    def quadratic(x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1).square().sum(dim=1) / 2

    generator = torch.Generator().manual_seed(0)
    real, fake = (
        torch.randn(5, 1, 3, 3, generator=generator),
        torch.randn(5, 1, 3, 3, generator=generator),
    )
    penalty, interpolates = recorded_penalty(quadratic, real, fake, seed=3)
    norms = interpolates.flatten(1).double().norm(dim=1)
    assert (norms - 1).abs().min() > 0.1  # no sample sits where the penalty vanishes
    expected = ((norms - 1) ** 2).mean().item()
    assert penalty.item() == pytest.approx(expected, rel=1e-6)


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
    with pytest.raises(ValueError) as error:
        r1_penalty(critic(real), real)
    assert str(error.value) == (
        "r1_penalty needs real_images.requires_grad_(True) before the D forward"
    )


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_penalties_through_the_dcgan_discriminator_are_the_same_under_autocast(spectral_norm):
    """The critic runs in fp32 with autocast off inside gradient_penalty, so a bf16-autocast
    call gives the fp32 penalty and the same parameter gradients, bit for bit or nearly."""
    torch.manual_seed(0)
    original = Discriminator(spectral_norm=spectral_norm)  # in training mode
    real, fake = torch.rand(2, 1, 28, 28) * 2 - 1, torch.rand(2, 1, 28, 28) * 2 - 1

    def penalty_and_grads(autocast: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        # a fresh copy each time: a forward updates the spectral norm's power iteration
        discriminator = copy.deepcopy(original)
        torch.manual_seed(1)  # in case a layer draws random numbers
        generator = torch.Generator().manual_seed(1)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            penalty = gradient_penalty(discriminator, real, fake, generator=generator)
        images = real.clone().requires_grad_(True)
        penalty = penalty + r1_penalty(discriminator(images), images)
        penalty.backward()
        return penalty.detach(), [p.grad for p in discriminator.parameters() if p.grad is not None]

    fp32, fp32_grads = penalty_and_grads(autocast=False)
    mixed, mixed_grads = penalty_and_grads(autocast=True)
    assert fp32.item() > 0
    torch.testing.assert_close(mixed, fp32, rtol=1e-6, atol=0)
    # every parameter but the head's bias, which no input gradient sees
    assert len(fp32_grads) == len(mixed_grads) == 5
    assert sum(g.abs().sum() for g in fp32_grads) > 0
    for a, b in zip(mixed_grads, fp32_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_gradient_penalty_draws_alpha_on_the_images_device():
    cuda = torch.device("cuda")
    critic = linear_critic().to(cuda)
    real, fake = torch.randn(3, 1, 2, 2, device=cuda), torch.randn(3, 1, 2, 2, device=cuda)
    generator = torch.Generator(device=cuda).manual_seed(0)
    penalty = gradient_penalty(critic, real, fake, generator=generator)
    assert penalty.device.type == "cuda"
    assert penalty.item() == pytest.approx(16.0, rel=1e-5)
