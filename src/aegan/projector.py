"""What TensorBoard's projector is given: codes it can project and a sprite it can load."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

PROJECTED = 3  # the projector's default view: the first three principal components
SPRITE_SIDE = 8192  # px: the projector refuses a larger sprite ("exceeds maximum dimensions")


def sprite_thumbnails(images: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
    """``images`` (N, C, H, W), uint8 or floats in [0, 1], as float thumbnails on the CPU
    whose square sprite (ceil(sqrt(N)) of them a side) fits in ``SPRITE_SIDE``: larger ones
    are shrunk by averaging, ``chunk`` images at a time. At full size 1,000 images of 512 px
    made a 16,384 px sprite, which the projector refuses, in 6 GB of float64."""
    per_side = math.ceil(math.sqrt(len(images)))
    height, width = images.shape[-2:]
    scale = min(1.0, SPRITE_SIDE / (per_side * max(height, width)))
    size = (max(1, int(height * scale)), max(1, int(width * scale)))
    thumbnails = []
    for part in images.split(chunk):
        part = part.float().div(255) if part.dtype == torch.uint8 else part.float()
        if size != (height, width):
            part = F.interpolate(part, size=size, mode="area")
        thumbnails.append(part.cpu())
    return torch.cat(thumbnails)


def projected_codes(codes: torch.Tensor) -> torch.Tensor:
    """Codes (N, D) as floats on the CPU, those of 1 or 2 numbers with zero columns to
    ``PROJECTED``: the projector's PCA takes its components from a D x D decomposition, and
    those past D, the third of its default 3-D view among them, come out NaN, so that no
    point is drawn (a VAE with model.latent_dim=2, whose codes are worth seeing)."""
    codes = codes.detach().float().cpu()  # (N, D)
    missing = PROJECTED - codes.shape[1]
    return torch.cat([codes, codes.new_zeros(len(codes), missing)], 1) if missing > 0 else codes
