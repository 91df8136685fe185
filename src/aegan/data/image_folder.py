"""Any folder of images as a data set (``data=image_folder data.root=DIR``)."""

from __future__ import annotations

import logging
import os
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from aegan.data.image_files import IMAGE_SUFFIXES, Listing, list_image_folder
from aegan.data.sources import ImageData
from aegan.data.splits import stratified_split
from aegan.errors import ConfigError, DataFileError
from aegan.io.path_kinds import shown

log = logging.getLogger(__name__)

__all__ = ["IMAGE_SUFFIXES", "Listing", "list_image_folder", "load_image_folder"]

BACKGROUND = (255, 255, 255)  # what shows through a transparent pixel: white, as on a page


def load_image_folder(
    *,
    root: str | None,
    image_size: int,
    channels: int,
    val_size: int,
    split_seed: int,
    test_size: int,
    listing: Listing | None = None,
) -> ImageData:
    """Any folder of images (one sub-folder per class, or flat), resized to a square.

    Labels are the sub-folder index (0 for a flat folder). The test split (``test_size``)
    and then the validation split are drawn by class (``stratified_split``). Every image
    becomes ``data.channels`` channels; transparent pixels show ``BACKGROUND``.
    ``listing``: the folder's, when already listed.
    """
    if listing is None:
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
    modes: Counter = Counter()
    images = [_decoded(path, channels, image_size, modes) for path in files]
    log.info(
        "data.root=%s: %d images (%s) read as data.channels=%d%s", shown(folder), len(files),
        ", ".join(f"{mode} {n}" for mode, n in sorted(modes.items())), channels,
        _transparency_note(modes),
    )  # fmt: skip
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


def _decoded(path: Path, channels: int, image_size: int, modes: Counter) -> torch.Tensor:
    """One image file as uint8 ``(channels, image_size, image_size)``: centre-cropped to a
    square and resized; ``modes`` counts the modes met (with transparency or not)."""
    try:
        with warnings.catch_warnings():  # over PIL's pixel limit: refused, not just warned
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
        with image:
            if image.mode == "F":  # floats have no fixed range: 0-1 would read as black
                raise DataFileError(
                    f"{shown(path)}: floating-point pixels (PIL mode F) have no fixed range; "
                    "save the image with 8 or 16 bits per channel"
                )
            image, mode = _opaque(_eight_bit(ImageOps.exif_transpose(image), path))  # as shown
            modes[mode] += 1
            image = _converted(image, "L" if channels == 1 else "RGB")
            side = min(image.size)  # centre crop to a square, then resize
            left, top = (image.width - side) // 2, (image.height - side) // 2
            image = image.crop((left, top, left + side, top + side))
            image = image.resize((image_size, image_size), Image.Resampling.BICUBIC)
            array = np.asarray(image, dtype=np.uint8).reshape(image_size, image_size, -1)
    except (DataFileError, MemoryError):
        raise
    except Exception as err:  # PIL's decoders raise many types on damaged bytes
        reason = " ".join(str(err).split()) or type(err).__name__
        raise DataFileError(f"{shown(path)}: unreadable image ({reason})") from err
    return torch.from_numpy(array.copy()).permute(2, 0, 1)  # (C, H, W)


def _converted(image: Image.Image, mode: str) -> Image.Image:
    """``image`` in ``mode`` (L or RGB): through RGB where PIL converts the image's mode to
    RGB only (LAB to L is "not supported", and the image is sound)."""
    try:
        return image.convert(mode)
    except ValueError:  # no direct conversion; a damaged file fails as it loads, before
        return image.convert("RGB").convert(mode)


def _opaque(image: Image.Image) -> tuple[Image.Image, str]:
    """(``image`` with any transparency composited onto ``BACKGROUND``, its mode as counted:
    ``RGBA (transparent)`` when a pixel was not opaque). ``convert`` would drop the alpha
    channel and show whatever colour the transparent pixels happen to hold."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return image, image.mode
    rgba = image.convert("RGBA")
    if rgba.getchannel("A").getextrema()[0] == 255:
        return image, image.mode
    background = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
    return Image.alpha_composite(background, rgba).convert("RGB"), f"{image.mode} (transparent)"


def _transparency_note(modes: Counter) -> str:
    transparent = sum(n for mode, n in modes.items() if mode.endswith("(transparent)"))
    if not transparent:
        return ""
    return f"; {transparent} with transparent pixels, composited onto white {BACKGROUND}"


def _eight_bit(image: Image.Image, path: Path) -> Image.Image:
    """A 16-bit grey image (PIL's ``I;16`` modes: a 16-bit PNG or TIFF) in 8 bits by its top
    byte, whatever its values: ``Image.convert`` clips them to 255 instead, and every image is
    white; a dark one, all below 256, is dark. A 32-bit integer image (``I``) holds no range
    of its own: one of 8-bit values stays as it is, one of 16-bit values takes its top byte,
    and one beyond 16 bits is refused."""
    if not (image.mode.startswith("I;16") or image.mode == "I"):
        return image
    array = np.asarray(image).astype(np.int64)
    if array.max(initial=0) > 65535 or array.min(initial=0) < 0:  # clipped: a white image
        low, high = array.min(), array.max()
        raise DataFileError(
            f"{shown(path)}: 32-bit integer pixels (PIL mode {image.mode}, {low} to {high}) have "
            "no fixed range; save the image with 8 or 16 bits per channel"
        )
    sixteen_bits = image.mode.startswith("I;16") or array.max(initial=0) > 255
    shift = 8 if sixteen_bits else 0  # an I image of 8-bit values stays as it is
    return Image.fromarray(np.clip(array >> shift, 0, 255).astype(np.uint8), "L")
