"""Data: find and read data sets into memory, then batch them on the training device."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from aegan.data.batches import DeviceBatches, denormalize, normalize, normalized_batches
from aegan.data.idx import DataFileError, read_idx
from aegan.data.sources import (
    DataNotFoundError,
    ImageData,
    load_cifar10,
    load_idx_dataset,
    load_image_folder,
)

DATASETS = ("fashion_mnist", "mnist", "cifar10", "image_folder")

__all__ = [
    "DATASETS",
    "DataFileError",
    "DataNotFoundError",
    "DeviceBatches",
    "ImageData",
    "denormalize",
    "load_data",
    "normalize",
    "normalized_batches",
    "read_idx",
]


def load_data(data_cfg: DictConfig, *, data_dir: str | Path) -> ImageData:
    """Read the data set that ``cfg.data`` names, split it, and apply ``data.subset``."""
    name = data_cfg.name
    data_dir = Path(data_dir).expanduser().resolve()
    common = dict(val_size=data_cfg.val_size, split_seed=data_cfg.split_seed)
    if name in ("fashion_mnist", "mnist"):
        data = load_idx_dataset(
            name, root=data_cfg.root, data_dir=data_dir, download=data_cfg.download, **common
        )
    elif name == "cifar10":
        data = load_cifar10(
            root=data_cfg.root, data_dir=data_dir, download=data_cfg.download, **common
        )
    elif name == "image_folder":
        data = load_image_folder(
            root=data_cfg.root,
            image_size=data_cfg.image_size,
            channels=data_cfg.channels,
            test_size=data_cfg.test_size,
            **common,
        )
    else:
        raise ValueError(
            f"data.name={name!r} is not a data set; choose one of: {', '.join(DATASETS)}"
        )
    if data_cfg.subset:
        data.train_images = data.train_images[: data_cfg.subset]
        data.train_labels = data.train_labels[: data_cfg.subset]
    return data
