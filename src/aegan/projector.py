"""What TensorBoard's projector is given: a sprite it can load."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

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
