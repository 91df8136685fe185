"""What TensorBoard's projector is given: codes it can project and a sprite it can load."""

from __future__ import annotations

import io
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from google.protobuf import text_format
from PIL import Image
from torch.utils.tensorboard import SummaryWriter

from aegan.io.files import atomic_write_bytes
from aegan.tiles import tile_images

PROJECTED = 3  # the projector's default view: the first three principal components
SPRITE_SIDE = 8192  # px: the projector refuses a larger sprite ("exceeds maximum dimensions")


def sprite_thumbnails(images: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
    """``images`` (N, C, H, W), uint8 or floats in [0, 1], as uint8 thumbnails on the CPU
    whose square sprite (ceil(sqrt(N)) of them a side) fits in ``SPRITE_SIDE``: larger ones
    are shrunk by averaging, ``chunk`` images at a time. At full size 1,000 images of 512 px
    made a 16,384 px sprite, which the projector refuses."""
    per_side = math.ceil(math.sqrt(len(images)))
    height, width = images.shape[-2:]
    scale = min(1.0, SPRITE_SIDE / (per_side * max(height, width)))
    size = (max(1, int(height * scale)), max(1, int(width * scale)))
    if images.dtype == torch.uint8 and size == (height, width):
        return images.cpu()
    thumbnails = []
    for part in images.split(chunk):
        part = part.float().div(255) if part.dtype == torch.uint8 else part.float()
        if size != (height, width):
            part = F.interpolate(part, size=size, mode="area")
        thumbnails.append(part.mul(255).round().clamp(0, 255).to(torch.uint8).cpu())
    return torch.cat(thumbnails)


def sprite_png(images: torch.Tensor) -> tuple[bytes, tuple[int, int]]:
    """The projector's sprite of ``images`` (as ``sprite_thumbnails`` takes them): an RGB PNG
    of their thumbnails, ceil(sqrt(N)) a side row by row, the last row's rest black; and a
    thumbnail's (width, height). Built in uint8: torch's ``add_embedding`` built 10,000
    images of 64 px in float64, 40-80 s and 4.5 GB at its peak on two cores."""
    thumbnails = sprite_thumbnails(images)  # (N, C, h, w) uint8
    count, channels, height, width = thumbnails.shape
    per_side = math.ceil(math.sqrt(count))
    grid = thumbnails.new_zeros(per_side * per_side, 3, height, width)
    grid[:count] = thumbnails.expand(-1, 3, -1, -1) if channels == 1 else thumbnails
    grid = tile_images(grid, per_side, padding=0).permute(1, 2, 0)  # (side * h, side * w, 3)
    buffer = io.BytesIO()
    Image.fromarray(grid.contiguous().numpy()).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue(), (width, height)


def projected_codes(codes: torch.Tensor) -> torch.Tensor:
    """Codes (N, D) as floats on the CPU, those of 1 or 2 numbers with zero columns to
    ``PROJECTED``: the projector's PCA takes its components from a D x D decomposition, and
    those past D, the third of its default 3-D view among them, come out NaN, so that no
    point is drawn (a VAE with model.latent_dim=2, whose codes are worth seeing)."""
    codes = codes.detach().float().cpu()  # (N, D)
    missing = PROJECTED - codes.shape[1]
    return torch.cat([codes, codes.new_zeros(len(codes), missing)], 1) if missing > 0 else codes


def add_sprite(writer: SummaryWriter, images: torch.Tensor, folder: str) -> None:
    """The sprite of ``images`` beside the embedding ``writer`` logged last (``folder``: its
    own, under the writer's log folder), named in the projector's config; both written
    atomically. ``add_embedding`` is given no images: it would build the sprite itself."""
    png, single_image_dim = sprite_png(images)
    root = Path(writer.log_dir)
    atomic_write_bytes(root / folder / "sprite.png", png)
    config = writer._projector_config  # the embeddings this writer logged, config and all
    config.embeddings[-1].sprite.image_path = f"{folder}/sprite.png"
    config.embeddings[-1].sprite.single_image_dim.extend(single_image_dim)
    text = text_format.MessageToString(config).encode()
    atomic_write_bytes(root / "projector_config.pbtxt", text)
