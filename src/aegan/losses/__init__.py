"""GAN losses and penalties as plain functions of discriminator logits."""

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
