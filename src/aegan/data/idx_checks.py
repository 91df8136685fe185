"""What the IDX headers of (Fashion-)MNIST do not say, checked once the files are read."""

from __future__ import annotations

from pathlib import Path

import torch

from aegan.errors import ConfigError, DataFileError

IDX_LABELS = ("train_labels", "test_labels")
# The first labels of each split as published: they tell the two sets apart, where a
# checksum would not (a file may be gzipped again, or not gzipped).
FIRST_LABELS = {
    "mnist": {"train_labels": (5, 0, 4, 1, 9, 2, 1, 3, 1, 4),
              "test_labels": (7, 2, 1, 0, 4, 1, 4, 9, 5, 9)},
    "fashion_mnist": {"train_labels": (9, 0, 0, 3, 0, 2, 7, 2, 5, 5),
                      "test_labels": (9, 2, 1, 1, 6, 1, 4, 6, 5, 7)},
}  # fmt: skip
TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
IMAGE_SIZE = (28, 28)  # (H, W) of both sets' images: the settings are checked for it unread


def check_idx_set(name: str, folder: Path, labels: dict, root: str | None) -> None:
    """Refuse the IDX files of the other set: MNIST's and Fashion-MNIST's files share their
    names, shapes and classes 0-9, and only their labels tell them apart; and a split's
    files in the other split's place (the test images trained on, and measured again)."""
    where = f"data.root={folder}" if root else f"the IDX files in {folder}"
    own = FIRST_LABELS.get(name, {})
    for key, other_key in (IDX_LABELS, IDX_LABELS[::-1]):
        if key in own and _begins_with(labels[key], own[other_key]):
            raise ConfigError(
                f"data={name} is not allowed with {where}: its {_split(key)} files hold the "
                f"{_split(other_key)} split (their first labels are {TITLES[name]}'s "
                f"{_split(other_key)} labels), so the test figures would be of images it "
                "trained on; put each split's files under its own name"
            )
    for other, first in FIRST_LABELS.items():
        if other == name or any(not _begins_with(labels[key], first[key]) for key in IDX_LABELS):
            continue
        raise ConfigError(
            f"data={name} is not allowed with {where}: they hold {TITLES[other]}, not "
            f"{TITLES[name]} (the first labels of both splits are {TITLES[other]}'s); use "
            f"data={other}, or point data.root at the {TITLES[name]} files"
        )


def check_idx_contents(
    name: str, folder: Path, arrays: dict[str, torch.Tensor], num_classes: int
) -> None:
    """What the IDX headers do not say: per split, (N, H, W) bytes and N labels, N >= 1; the
    same H, W in both splits, the named set's ``IMAGE_SIZE``; labels that name one of the
    classes."""
    sizes = set()
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels) or not len(images):
            raise DataFileError(
                f"{folder}: {split} images {tuple(images.shape)} and labels "
                f"{tuple(labels.shape)} do not match (expected (N, H, W) and (N,), N >= 1)"
            )
        if 0 in images.shape[1:]:  # else named later as a model's size, which nobody set
            raise DataFileError(
                f"{folder}: {split} images are {images.shape[1]}x{images.shape[2]} pixels; an "
                "image has at least one row and one column"
            )
        if images.dtype != torch.uint8:
            raise DataFileError(f"{folder}: {split} images are {images.dtype}, not bytes (0-255)")
        if labels.is_floating_point():  # 3.0 is no class's number: said as the images' kind is
            raise DataFileError(f"{folder}: {split} labels are {labels.dtype}, not integers")
        if labels.min() < 0 or labels.max() >= num_classes:
            raise DataFileError(
                f"{folder}: {split} labels run from {labels.min().item()} to "
                f"{labels.max().item()}; the {num_classes} classes are 0-{num_classes - 1}"
            )
        sizes.add(tuple(images.shape[1:]))
    if len(sizes) > 1:
        raise DataFileError(f"{folder}: the splits' images differ in size ({sorted(sizes)})")
    if sizes != {IMAGE_SIZE}:  # else the run trains at a size its settings were not checked for
        height, width = sizes.pop()
        raise DataFileError(
            f"{folder}: its images are {height}x{width} pixels, and {TITLES[name]}'s are "
            f"{IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} (data={name}'s settings are checked for that size "
            f"before its files are read); point data.root at the {TITLES[name]} IDX files"
        )


def _begins_with(labels, first: tuple) -> bool:
    """Whether the label tensor ``labels`` begins with the labels ``first``."""
    return tuple(labels[: len(first)].tolist()) == first


def _split(key: str) -> str:
    """``"train_labels"`` -> ``"train"``."""
    return key.removesuffix("_labels")
