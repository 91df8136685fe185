"""Losses as plain functions: the GAN losses and penalties on discriminator logits, and the
Bernoulli likelihood of pixels on decoder logits."""

from aegan.losses.bernoulli import bernoulli_nll
from aegan.losses.gan import (
    GAN_LOSSES,
    GanLoss,
    get_gan_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    hinge_generator_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    ns_discriminator_loss,
    ns_generator_loss,
    r1_penalty,
    wgan_discriminator_loss,
    wgan_generator_loss,
)

__all__ = [
    "bernoulli_nll",
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
