"""GAN losses and regularisers as plain functions of discriminator logits.

Every loss takes logits of shape (B,) (no sigmoid), casts them to fp32 first so it is
safe under autocast, and returns a scalar. Pick one by name with `get_gan_loss`:
"ns" (non-saturating, Goodfellow et al. 2014; the default), "lsgan" (Mao et al. 2017),
"wgan_gp" (Arjovsky et al. 2017 / Gulrajani et al. 2017; add `gradient_penalty`) and
"hinge" (Lim & Ye 2017; Miyato et al. 2018). `r1_penalty` is Mescheder et al. 2018.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from aegan.errors import ConfigError

__all__ = [
    "GAN_LOSSES",
    "GanLoss",
    "get_gan_loss",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "ns_discriminator_loss",
    "ns_generator_loss",
    "r1_penalty",
    "wgan_discriminator_loss",
    "wgan_generator_loss",
]


def ns_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """BCE with logits: -log D(x) - log(1 - D(G(z))) = softplus(-real) + softplus(fake)."""
    real, fake = real_logits.float(), fake_logits.float()
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def ns_generator_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss: -log D(G(z)) = softplus(-fake)."""
    return F.softplus(-fake_logits.float()).mean()


def lsgan_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Least squares, targets 1 (real) and 0 (fake): 0.5 (real - 1)^2 + 0.5 fake^2."""
    real, fake = real_logits.float(), fake_logits.float()
    return 0.5 * (real - 1.0).square().mean() + 0.5 * fake.square().mean()


def lsgan_generator_loss(fake_logits: Tensor) -> Tensor:
    """Least squares, target 1 for fakes: 0.5 (fake - 1)^2."""
    return 0.5 * (fake_logits.float() - 1.0).square().mean()


def wgan_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Wasserstein critic loss: E[D(G(z))] - E[D(x)]; add `gradient_penalty` for WGAN-GP."""
    return fake_logits.float().mean() - real_logits.float().mean()


def wgan_generator_loss(fake_logits: Tensor) -> Tensor:
    """Wasserstein generator loss: -E[D(G(z))]."""
    return -fake_logits.float().mean()


def hinge_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Hinge loss: relu(1 - real) + relu(1 + fake)."""
    real, fake = real_logits.float(), fake_logits.float()
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def hinge_generator_loss(fake_logits: Tensor) -> Tensor:
    """Hinge generator loss: -E[D(G(z))]."""
    return -fake_logits.float().mean()


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): mean over samples of (||grad D(x_hat)|| - 1)^2.

    x_hat = alpha * real + (1 - alpha) * fake with one alpha ~ U(0, 1) per sample, drawn
    from `generator` if given (it must live on real's device). Real and fake are detached,
    so gradients reach only the critic's parameters. The critic runs in fp32 with autocast
    disabled, and the graph is kept (create_graph=True) so the penalty can be
    backpropagated. Multiply by lambda (10 in the paper) and add it to the critic loss.
    """
    batch_size = real.shape[0]
    alpha_shape = (batch_size,) + (1,) * (real.dim() - 1)  # (B, 1, 1, 1) for images
    alpha = torch.rand(alpha_shape, generator=generator, device=real.device)
    real, fake = real.detach().float(), fake.detach().float()
    interpolates = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)  # (B, C, H, W)
    with torch.autocast(device_type=real.device.type, enabled=False):
        logits = critic(interpolates).float()  # (B,)
        (grad,) = torch.autograd.grad(logits.sum(), interpolates, create_graph=True)
        grad_norm = grad.flatten(1).norm(2, dim=1)  # (B,)
        return (grad_norm - 1.0).square().mean()


def r1_penalty(real_logits: Tensor, real_images: Tensor) -> Tensor:
    """R1 penalty (Mescheder et al. 2018): mean over samples of ||d real_logits / d x||^2.

    `real_images` must have had `requires_grad_(True)` set before the discriminator
    computed `real_logits` from them. The gradient is taken with create_graph=True and
    reduced in fp32; for an fp32 gradient too, compute `real_logits` with autocast off.
    Multiply by gamma / 2 (the paper's convention) and add it to the discriminator loss.
    """
    if not real_images.requires_grad:
        raise ValueError("r1_penalty needs real_images.requires_grad_(True) before the D forward")
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_images, create_graph=True)
    return grad.float().flatten(1).square().sum(dim=1).mean()


@dataclass(frozen=True)
class GanLoss:
    """A named pair of loss functions: `discriminator(real_logits, fake_logits)` and
    `generator(fake_logits)`, both returning an fp32 scalar."""

    name: str
    discriminator: Callable[[Tensor, Tensor], Tensor]
    generator: Callable[[Tensor], Tensor]


GAN_LOSSES: dict[str, GanLoss] = {
    "ns": GanLoss("ns", ns_discriminator_loss, ns_generator_loss),
    "lsgan": GanLoss("lsgan", lsgan_discriminator_loss, lsgan_generator_loss),
    "wgan_gp": GanLoss("wgan_gp", wgan_discriminator_loss, wgan_generator_loss),
    "hinge": GanLoss("hinge", hinge_discriminator_loss, hinge_generator_loss),
}


def get_gan_loss(name: str, key: str = "model.loss", *, penalty: bool = True) -> GanLoss:
    """The `GanLoss` called `name`; a `ConfigError` naming `key` and the choices
    otherwise. `penalty=False` is for a task that adds no gradient penalty: it refuses
    wgan_gp, whose critic has no Lipschitz bound without one and diverges."""
    choices = [loss for loss in GAN_LOSSES if penalty or loss != "wgan_gp"]
    if isinstance(name, str) and name in choices:
        return GAN_LOSSES[name]
    why = " (this model adds no gradient penalty, which it needs)" if name == "wgan_gp" else ""
    raise ConfigError(  # not a ValueError: that would be reported as the task's failure
        f"{key}={name!r} is not a GAN loss here{why}; choose one of: {', '.join(choices)}"
    )
