"""Variational autoencoders (Kingma and Welling 2014): a Gaussian encoder q(z|x) = N(mean,
diag(exp(logvar))) and a decoder whose logits parametrise p(x|z).

``DenseVAE`` has the article's dense sizes (784 -> 64 -> (32, 32); 32 -> 32 -> 64 -> 784);
``ConvVAE`` the convolutional autoencoder's networks (``aegan.models.conv``). The
likelihood and the loss are the task's (``aegan.tasks.vae``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from aegan.models.autoencoder import mlp
from aegan.models.conv import conv_encoder_decoder


def reparameterize(
    mean: Tensor, logvar: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """A draw of N(mean, exp(logvar)) as mean + noise * std (Kingma and Welling's trick), so
    that gradients reach the mean and log-variance; ``generator``: the noise drawn on the CPU
    (reproducible anywhere), else on ``mean``'s device."""
    if generator is None:
        noise = torch.randn_like(mean)
    else:
        noise = torch.randn(mean.shape, generator=generator).to(mean)
    return mean + noise * torch.exp(0.5 * logvar)


class GaussianEncoderDecoder(nn.Module):
    """``encoder``: image -> (B, 2 * latent_dim), the mean and log-variance; ``decoder``:
    z (B, latent_dim) -> logits (B, C, H, W)."""

    encoder: nn.Module
    decoder: nn.Module

    def __init__(self, image_shape: Sequence[int], latent_dim: int) -> None:
        super().__init__()
        self.image_shape = tuple(int(s) for s in image_shape)  # (C, H, W)
        self.latent_dim = latent_dim

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(B, C, H, W) in [0, 1] -> mean, log-variance (B, latent_dim) each."""
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar

    def decode_logits(self, z: Tensor) -> Tensor:
        """z (B, latent_dim) -> the decoder's logits (B, C, H, W)."""
        return self.decoder(z).view(-1, *self.image_shape)


class DenseVAE(GaussianEncoderDecoder):
    """Dense encoder image -> hidden_dims -> 2 * latent_dim (linear), decoder latent_dim ->
    latent_dim -> reversed(hidden_dims) -> pixels, ReLU between (the article's layers)."""

    def __init__(
        self,
        *,
        image_shape: Sequence[int] = (1, 28, 28),
        hidden_dims: Sequence[int] = (64,),
        latent_dim: int = 32,
    ) -> None:
        super().__init__(image_shape, latent_dim)
        pixels = math.prod(self.image_shape)
        encoder_sizes = [pixels, *hidden_dims]  # no hidden_dims: a linear encoder, as the AE's
        self.encoder = nn.Sequential(
            nn.Flatten(), *mlp(encoder_sizes), nn.Linear(encoder_sizes[-1], 2 * latent_dim)
        )
        decoder_sizes = [latent_dim, latent_dim, *reversed(hidden_dims)]
        self.decoder = nn.Sequential(*mlp(decoder_sizes), nn.Linear(decoder_sizes[-1], pixels))


class ConvVAE(GaussianEncoderDecoder):
    """The convolutional autoencoder's networks with a Gaussian code."""

    def __init__(
        self,
        *,
        image_shape: Sequence[int] = (1, 28, 28),
        latent_dim: int = 32,
        encoder_channels: Sequence[int] = (64, 128),
        decoder_channels: Sequence[int] = (256, 128, 128),
        kernel_size: int = 5,
    ) -> None:
        super().__init__(image_shape, latent_dim)
        self.encoder, self.decoder = conv_encoder_decoder(
            image_shape=image_shape, latent_dim=latent_dim, code_width=2 * latent_dim,
            encoder_channels=encoder_channels, decoder_channels=decoder_channels,
            kernel_size=kernel_size,
        )  # fmt: skip
