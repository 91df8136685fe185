"""Any folder of images as a data set (``data=image_folder data.root=DIR``)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from aegan.data.sources import ImageData
from aegan.data.splits import stratified_split
from aegan.errors import ConfigError, DataFileError, DataNotFoundError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


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
    folder, files, class_names = list_image_folder(root, val_size=val_size, test_size=test_size)
    needed = 2 * len(files) * channels * image_size**2  # the decoded list, then its stack
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if needed > memory:
        raise ConfigError(
            f"data.root={folder} holds {len(files)} images: at data.image_size={image_size} and "
            f"data.channels={channels} they need {needed / 2**30:.1f} GiB, more than this "
            f"machine's {memory / 2**30:.1f} GiB of memory; use a smaller folder or image size"
        )
    class_index = {c: i for i, c in enumerate(class_names)}
    mode = "L" if channels == 1 else "RGB"
    images, labels = [], []
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
            raise DataFileError(f"{path}: unreadable image ({err})") from err
        images.append(torch.from_numpy(array.copy()).permute(2, 0, 1))  # (C, H, W)
        labels.append(class_index[path.parent.relative_to(folder).as_posix()])
    all_x, all_y = torch.stack(images), torch.tensor(labels, dtype=torch.long)
    rest_x, rest_y, test_x, test_y = stratified_split(
        all_x, all_y, size=test_size, seed=split_seed + 1, key="data.test_size"
    )
    train_x, train_y, val_x, val_y = stratified_split(
        rest_x, rest_y, size=val_size, seed=split_seed, key="data.val_size"
    )
    return ImageData(
        "image_folder",
        train_x,
        train_y,
        val_x,
        val_y,
        test_x,
        test_y,
        tuple(class_names),
        str(folder),
    )


def list_image_folder(
    root: str | None, *, val_size: int, test_size: int
) -> tuple[Path, list[Path], list[str]]:
    """(folder, its image files, its class names: the sub-folders that hold images, "." for
    the folder itself) without reading an image; refuses splits that leave no training image."""
    if not root:
        raise DataNotFoundError("data=image_folder needs data.root=FOLDER (a folder of images)")
    folder = Path(root).expanduser()
    if not folder.is_dir():
        raise DataNotFoundError(f"data.root={folder} is not a folder")
    # regular files only: opening a FIFO named x.png would wait forever for a writer
    files = sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )
    if not files:
        raise DataNotFoundError(
            f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found under data.root={folder}"
        )
    if test_size + val_size >= len(files):
        raise ConfigError(
            f"data.test_size={test_size} and data.val_size={val_size} leave no training images: "
            f"data.root={folder} holds {len(files)} images"
        )
    return folder, files, sorted({p.parent.relative_to(folder).as_posix() for p in files})


def _eight_bit(image: Image.Image) -> Image.Image:
    """A 16-bit grey image (PIL's ``I;16`` modes, or ``I`` from a 16-bit PNG) in 8 bits by its
    top byte: ``Image.convert`` clips its values to 255 instead, and every image is white."""
    if not (image.mode.startswith("I;16") or image.mode == "I"):
        return image
    array = np.asarray(image).astype(np.int64)
    shift = 8 if array.max(initial=0) > 255 else 0  # an I image of 8-bit values stays as it is
    return Image.fromarray(np.clip(array >> shift, 0, 255).astype(np.uint8), "L")
