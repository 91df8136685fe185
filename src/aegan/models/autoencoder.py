"""The article's dense autoencoder (section 4.1), with its defects fixed.

    x (B, C, H, W) -> flatten (B, C*H*W) -> encoder -> h (B, latent_dim)
                   -> decoder -> sigmoid -> reshape (B, C, H, W)

With the defaults (hidden_dims=[64], latent_dim=32, 1x28x28) this is exactly the
article's code: encoder 784 -> 64 -> 32 (ReLU after each), decoder 32 -> 32 -> 64 -> 784
(ReLU, ReLU, sigmoid). Unlike the article, the code size is a real parameter and the
image is flattened before the dense layers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


def mlp(sizes: Sequence[int]) -> list[nn.Module]:
    """Linear + ReLU for each consecutive pair of ``sizes``."""
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return layers


class DenseAutoencoder(nn.Module):
    """Dense autoencoder; ``forward`` returns logits (the task applies the sigmoid in fp32)."""

    def __init__(
        self,
        *,
        image_shape: Sequence[int] = (1, 28, 28),
        hidden_dims: Sequence[int] = (64,),
        latent_dim: int = 32,
        code_activation: bool = True,
    ) -> None:
        super().__init__()
        if latent_dim < 1 or any(h < 1 for h in hidden_dims):
            raise ValueError(
                f"model sizes must be positive: latent_dim={latent_dim}, hidden_dims={list(hidden_dims)}"
            )
        self.image_shape = tuple(int(s) for s in image_shape)  # (C, H, W)
        self.latent_dim = latent_dim
        num_pixels = math.prod(self.image_shape)
        encoder = mlp([num_pixels, *hidden_dims, latent_dim])
        if not code_activation:  # a linear code; the article's code ends in ReLU
            encoder = encoder[:-1]
        self.encoder = nn.Sequential(nn.Flatten(), *encoder)
        # The article's decoder starts with a Dense(latent_dim) layer: latent -> latent -> hidden
        decoder_sizes = [latent_dim, latent_dim, *reversed(hidden_dims)]
        self.decoder = nn.Sequential(*mlp(decoder_sizes), nn.Linear(decoder_sizes[-1], num_pixels))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> code (B, latent_dim)."""
        return self.encoder(x)

    def decode_logits(self, code: torch.Tensor) -> torch.Tensor:
        """code (B, latent_dim) -> pre-sigmoid image (B, C, H, W)."""
        return self.decoder(code).view(-1, *self.image_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction logits (B, C, H, W); the loss applies the sigmoid in fp32."""
        return self.decode_logits(self.encode(x))
