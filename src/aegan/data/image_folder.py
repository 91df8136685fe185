"""Any folder of images as a data set (``data=image_folder data.root=DIR``)."""

from __future__ import annotations

import logging
import os
import warnings

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from aegan.data.image_files import IMAGE_SUFFIXES, Listing, list_image_folder, shown
from aegan.data.sources import ImageData
from aegan.data.splits import stratified_split
from aegan.errors import ConfigError, DataFileError

log = logging.getLogger(__name__)

__all__ = ["IMAGE_SUFFIXES", "Listing", "list_image_folder", "load_image_folder"]


def load_image_folder(
    *,
    root: str | None,
    image_size: int,
    channels: int,
    val_size: int,
    split_seed: int,
    test_size: int,
) -> ImageData:
    """Any folder of images (one sub-folder per class, or flat), resized to a square.

    Labels are the sub-folder index (0 for a flat folder). The test split (``test_size``)
    and then the validation split are drawn by class (``stratified_split``).
    """
    listing = list_image_folder(root, val_size=val_size, test_size=test_size)
    folder, files = listing.folder, listing.files
    needed = 2 * len(files) * channels * image_size**2  # the decoded list, then its stack
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if needed > memory:
        raise ConfigError(
            f"data.root={shown(folder)} holds {len(files)} images: at data.image_size="
            f"{image_size} and data.channels={channels} they need {needed / 2**30:.1f} GiB, more "
            f"than this machine's {memory / 2**30:.1f} GiB of memory; use a smaller folder or "
            "image size"
        )
    skipped = listing.skipped_line()
    if skipped:
        log.warning(skipped)
    mode = "L" if channels == 1 else "RGB"
    images = []
    for path in files:
        try:
            with warnings.catch_warnings():  # over PIL's pixel limit: refused, not just warned
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(path)
            with image:
                image = _eight_bit(image).convert(mode)
                side = min(image.size)  # centre crop to a square, then resize
                left, top = (image.width - side) // 2, (image.height - side) // 2
                image = image.crop((left, top, left + side, top + side))
                image = image.resize((image_size, image_size), Image.Resampling.BICUBIC)
                array = np.asarray(image, dtype=np.uint8).reshape(image_size, image_size, -1)
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError,
                Image.DecompressionBombWarning) as err:  # fmt: skip
            raise DataFileError(f"{shown(path)}: unreadable image ({err})") from err
        images.append(torch.from_numpy(array.copy()).permute(2, 0, 1))  # (C, H, W)
    all_x, all_y = torch.stack(images), torch.tensor(listing.labels, dtype=torch.long)
    rest_x, rest_y, test_x, test_y = stratified_split(
        all_x, all_y, size=test_size, seed=split_seed + 1, key="data.test_size"
    )
    train_x, train_y, val_x, val_y = stratified_split(
        rest_x, rest_y, size=val_size, seed=split_seed, key="data.val_size"
    )
    classes = tuple(shown(name) for name in listing.classes)
    return ImageData(
        "image_folder", train_x, train_y, val_x, val_y, test_x, test_y, classes, str(folder)
    )


def _eight_bit(image: Image.Image) -> Image.Image:
    """A 16-bit grey image (PIL's ``I;16`` modes, or ``I`` from a 16-bit PNG) in 8 bits by its
    top byte: ``Image.convert`` clips its values to 255 instead, and every image is white."""
    if not (image.mode.startswith("I;16") or image.mode == "I"):
        return image
    array = np.asarray(image).astype(np.int64)
    shift = 8 if array.max(initial=0) > 255 else 0  # an I image of 8-bit values stays as it is
    return Image.fromarray(np.clip(array >> shift, 0, 255).astype(np.uint8), "L")
