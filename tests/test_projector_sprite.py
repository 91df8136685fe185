"""The projector's sprite: thumbnails whose square sprite fits the 8192 px the projector
takes (it refuses a larger one), made from uint8 or [0, 1] images, a chunk at a time, and
the sprite itself built in uint8."""

from __future__ import annotations

import io
import math
import tracemalloc

import numpy as np
import pytest
import torch
from PIL import Image

from aegan.logger import TensorBoardLogger
from aegan.projector import SPRITE_SIDE, sprite_png, sprite_thumbnails


@pytest.mark.parametrize(("count", "side"), [(1000, 257), (1000, 512), (17, 2000)])
def test_thumbnails_of_large_images_fit_the_projectors_sprite(count, side):
    images = torch.zeros(count, 1, side, side, dtype=torch.uint8)
    thumbnails = sprite_thumbnails(images, chunk=300)
    per_side = math.ceil(math.sqrt(count))
    assert thumbnails.shape[:2] == (count, 1) and thumbnails.dtype == torch.uint8
    assert per_side * thumbnails.shape[-1] <= SPRITE_SIDE
    assert per_side * (thumbnails.shape[-1] + 1) > SPRITE_SIDE  # as large as it can be


def test_a_shrunk_thumbnail_is_the_mean_of_the_pixels_it_covers():
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (4, 3, 8192, 8), dtype=torch.uint8, generator=generator)
    thumbnails = sprite_thumbnails(images)  # 2 a side: 4096 x 4 px
    expected = images.double().reshape(4, 3, 4096, 2, 4, 2).mean(dim=(3, 5))
    assert thumbnails.shape == (4, 3, 4096, 4)
    assert (thumbnails.double() - expected).abs().max() <= 0.5 + 1e-4  # rounded to 8 bits


def test_images_that_fit_are_kept_as_they_are(tmp_path):
    """uint8 images (what the run's data holds) read back from sprite.png as they were."""
    generator = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (9, 3, 6, 6), dtype=torch.uint8, generator=generator)
    logger = TensorBoardLogger(tmp_path)
    logger.embedding(torch.randn(9, 4), labels=list("abcdefghi"), images=images, step=3, tag="t")
    logger.close()
    sprite = np.asarray(Image.open(tmp_path / "00003" / "t" / "sprite.png").convert("RGB"))
    assert sprite.shape == (18, 18, 3)
    grid = images.reshape(3, 3, 3, 6, 6).permute(0, 3, 1, 4, 2).reshape(18, 18, 3).numpy()
    assert np.array_equal(sprite, grid)
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert 'image_path: "00003/t/sprite.png"' in config and config.count("single_image_dim: 6") == 2


def test_a_sprite_of_many_images_is_built_in_bytes():
    """2,500 images of 64 px: torch's add_embedding built their sprite in float64 (three
    3200 x 3200 x 3 arrays of 245 MB at once); in uint8 it is 31 MB."""
    images = torch.zeros(2500, 3, 64, 64, dtype=torch.uint8)
    images[:, 0] = 255  # red
    tracemalloc.start()
    try:
        png, single_image_dim = sprite_png(images)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MB"
    sprite = np.asarray(Image.open(io.BytesIO(png)))
    assert sprite.shape == (3200, 3200, 3) and single_image_dim == (64, 64)
    assert (sprite[..., 0] == 255).all() and (sprite[..., 1:] == 0).all()
