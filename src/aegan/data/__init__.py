"""Data: find and read data sets into memory, then batch them on the training device."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from aegan.data.batches import DeviceBatches, binarized, denormalize, normalize, normalized_batches
from aegan.data.cifar import cifar10_files, cifar10_folder, load_cifar10
from aegan.data.idx import read_idx
from aegan.data.idx_checks import IMAGE_SIZE as IDX_SIZE
from aegan.data.image_files import Listing
from aegan.data.image_folder import list_image_folder, load_image_folder
from aegan.data.read_once import read_once, taken
from aegan.data.sources import (
    IDX_DATASETS,
    IDX_FILES,
    ImageData,
    find_idx_dir,
    idx_candidates,
    idx_file,
    load_idx_dataset,
    named_idx_dir,
)
from aegan.errors import ConfigError, DataFileError, DataNotFoundError, refused_value
from aegan.io.files import check_folder, file_stamp
from aegan.io.path_kinds import shown
from aegan.settings.value_kinds import unquoted_hint

DATASETS = ("fashion_mnist", "mnist", "cifar10", "image_folder")
# Image shape (C, H, W) of each named data set, known before reading it.
KNOWN_SHAPES = {"fashion_mnist": (1, *IDX_SIZE), "mnist": (1, *IDX_SIZE), "cifar10": (3, 32, 32)}
# Training images of each named data set (before the validation split), known before reading.
KNOWN_TRAIN_SIZES = {"fashion_mnist": 60000, "mnist": 60000, "cifar10": 50000}
KNOWN_TEST_SIZES = {"fashion_mnist": 10000, "mnist": 10000, "cifar10": 10000}
KNOWN_CLASSES = {"fashion_mnist": 10, "mnist": 10, "cifar10": 10}
BINARIZE = ("none", "dynamic", "fixed")
MAX_IMAGE_SIZE = 1024  # image_folder's side: larger ones would not fit in memory whole

__all__ = [
    "DATASETS", "KNOWN_SHAPES", "DataFileError", "DataNotFoundError", "DataSizes",
    "DeviceBatches", "ImageData", "check_data_config", "denormalize", "image_shape_of",
    "load_data", "local_data", "normalize", "normalized_batches", "read_ahead", "read_idx",
    "sizes_of", "test_size_of",
]  # fmt: skip


def _check_int(data_cfg: DictConfig, key: str, low: int, *, allow_none: bool = False) -> None:
    value = data_cfg.get(key)
    whole = isinstance(value, int) and not isinstance(value, bool)
    if (value is None and allow_none) or (whole and low <= value < 2**31):
        return
    allowed = f"in [{low}, {2**31 - 1}]" if whole and value > low else f">= {low}"
    raise ConfigError(  # data.subset='5': conf/ holds null, so no schema named its kind
        f"data.{key}={refused_value(value)} is not allowed: it must be an integer {allowed}"
        f"{' or null' if allow_none else ''}{unquoted_hint(f'data.{key}', value, 0)}"
    )


def _check_subset(data_cfg: DictConfig, train_size: int) -> None:
    if data_cfg.subset is not None and data_cfg.subset > train_size:
        raise ConfigError(
            f"data.subset={data_cfg.subset} is more than the {train_size} training images of "
            f"{data_cfg.name}; use at most {train_size}, or null for all of them"
        )


def check_data_config(data_cfg: DictConfig) -> None:
    """Raise ``ConfigError`` for a data setting that cannot work, before reading anything."""
    if data_cfg.get("name") not in DATASETS:
        raise ConfigError(
            f"data.name={refused_value(data_cfg.get('name'))} is not allowed; choose one of: {', '.join(DATASETS)}"
        )
    _check_int(data_cfg, "batch_size", 1)
    _check_int(data_cfg, "val_size", 1)  # validation picks best.pt and feeds the objective
    _check_int(data_cfg, "split_seed", 0)
    _check_int(data_cfg, "subset", 1, allow_none=True)
    binarize = data_cfg.get("binarize", "none")
    if binarize not in BINARIZE:
        raise ConfigError(
            f"data.binarize={refused_value(binarize)} is not allowed; choose one of: {', '.join(BINARIZE)}"
        )
    if binarize != "none" and image_shape_of(data_cfg)[0] != 1:
        raise ConfigError(
            f"data.binarize={binarize} needs grey images; data={data_cfg.name} has "
            f"{image_shape_of(data_cfg)[0]} channels: use data.binarize=none"
        )
    if data_cfg.subset is not None and data_cfg.batch_size > data_cfg.subset:
        raise ConfigError(
            f"data.batch_size={data_cfg.batch_size} is larger than data.subset={data_cfg.subset}; "
            f"use a batch size <= {data_cfg.subset}"
        )
    total = KNOWN_TRAIN_SIZES.get(data_cfg.name)
    if total is not None and data_cfg.val_size >= total:
        raise ConfigError(
            f"data.val_size={data_cfg.val_size} is not allowed: data={data_cfg.name} has {total} "
            f"training images, so at most {total - 1}"
        )
    if total is not None and data_cfg.batch_size > total - data_cfg.val_size:
        raise ConfigError(
            f"data.batch_size={data_cfg.batch_size} is larger than the training set "
            f"({total - data_cfg.val_size} images after data.val_size={data_cfg.val_size})"
        )
    if total is not None:
        _check_subset(data_cfg, total - data_cfg.val_size)
    if data_cfg.name == "image_folder":
        _check_int(data_cfg, "image_size", 4)
        _check_int(data_cfg, "test_size", 0)
        if data_cfg.image_size > MAX_IMAGE_SIZE:
            raise ConfigError(
                f"data.image_size={data_cfg.image_size} is not allowed: at most {MAX_IMAGE_SIZE}"
            )
        if data_cfg.channels not in (1, 3) or isinstance(data_cfg.channels, bool):
            raise ConfigError(
                f"data.channels={refused_value(data_cfg.channels)} is not allowed; choose 1 or 3"
            )
    root = data_cfg.get("root")
    exists = check_folder("data.root", root, allow_none=True)
    if root is not None and data_cfg.name != "cifar10" and not exists:  # cifar10 downloads there
        raise ConfigError(f"data.root={root} does not exist; pass a folder that holds the data set")
    if root is not None and data_cfg.name in IDX_DATASETS:  # its files by name: a few stat()s
        named_idx_dir(data_cfg.name, Path(root).expanduser())


def _checked_listing(data_cfg: DictConfig) -> Listing:
    """An image folder's listing, with a batch or subset larger than its training split
    refused: known before an image is decoded, which for a large folder takes minutes."""
    val, test = data_cfg.val_size, data_cfg.test_size
    listing = list_image_folder(data_cfg.root, val_size=val, test_size=test)
    train, batch_size = len(listing.files) - val - test, data_cfg.get("batch_size")
    if batch_size is not None and batch_size > train:
        raise ConfigError(
            f"data.batch_size={batch_size} is larger than the training set: "
            f"data.root={shown(listing.folder)} holds {len(listing.files)} images, {train} "
            f"after data.val_size={val} and data.test_size={test}; use a batch size <= {train}"
        )
    _check_subset(data_cfg, train)
    return listing


def image_shape_of(data_cfg: DictConfig) -> tuple[int, int, int]:
    """The (C, H, W) a data config will produce, without reading it."""
    if data_cfg.name == "image_folder":
        return (data_cfg.channels, data_cfg.image_size, data_cfg.image_size)
    return KNOWN_SHAPES[data_cfg.name]


def test_size_of(data_cfg: DictConfig) -> int | None:
    """The test images a data config will produce, without reading it; None if not known."""
    if data_cfg.name == "image_folder":
        return data_cfg.test_size
    return KNOWN_TEST_SIZES.get(data_cfg.name)


@dataclass(frozen=True)
class DataSizes:
    """What a data config will hold, known before an image is read; None: not known."""

    train: int | None  # training images, after the validation split and data.subset
    test: int | None
    classes: int | None
    source: str  # what sets them, for messages: "data=mnist", "data.subset=N"
    origin: str  # where the images are: "data=mnist", "data.root=DIR (N images)"


def sizes_of(data_cfg: DictConfig) -> DataSizes:
    """The split sizes and class count of ``data_cfg`` (checked by ``check_data_config``):
    known for the named sets, listed (not read) for an image folder, whose batch size and
    subset are then checked against its training split."""
    name, subset = data_cfg.name, data_cfg.subset
    if name == "image_folder":
        val, test = data_cfg.val_size, data_cfg.test_size
        listing = _checked_listing(data_cfg)
        origin = f"data.root={shown(listing.folder)} ({len(listing.files)} images)"
        train, source = len(listing.files) - val - test, origin
        if subset is not None and subset < train:
            train, source = subset, f"data.subset={subset}"
        return DataSizes(train, test, len(listing.classes), source, origin)
    total = KNOWN_TRAIN_SIZES.get(name)
    train = None if total is None else total - data_cfg.val_size
    if subset is not None and train is not None and subset < train:
        train = subset
    source = f"data.subset={subset}" if train == subset else f"data={name}"
    classes = KNOWN_CLASSES.get(name)
    return DataSizes(train, KNOWN_TEST_SIZES.get(name), classes, source, f"data={name}")


def load_data(
    data_cfg: DictConfig, *, data_dir: str | Path, look_also: Sequence[str | Path] = ()
) -> ImageData:
    """Read the data set that ``cfg.data`` names, split it, and apply ``data.subset``; a
    named set without ``data.root`` is looked for in ``data_dir``, then in the folders
    ``look_also`` (read only: a download goes into ``data_dir``)."""
    name = data_cfg.name
    data_dir = Path(data_dir).expanduser().resolve()
    also = tuple(Path(folder) for folder in look_also)
    common = _split_settings(data_cfg)
    local = _local_read(data_cfg, data_dir, also)
    if local is not None:  # as validate_config read it, unless its files changed since
        data = taken(read_once(*local))
    elif name in ("fashion_mnist", "mnist"):
        data = load_idx_dataset(
            name, root=data_cfg.root, data_dir=data_dir, download=data_cfg.download,
            look_also=also, **common,
        )  # fmt: skip
    elif name == "cifar10":
        data = load_cifar10(
            root=data_cfg.root, data_dir=data_dir, download=data_cfg.download,
            look_also=also, **common,
        )  # fmt: skip
    else:
        raise ValueError(
            f"data.name={name!r} is not a data set; choose one of: {', '.join(DATASETS)}"
        )
    return _as_set(data, data_cfg)


def local_data(data_cfg: DictConfig, data_dir: str | Path) -> ImageData | None:
    """The data a run of ``data_cfg`` will train on, as ``load_data`` gives it, where it is
    read from local files (``read_ahead``'s, taken as read, its log lines left to the run);
    None where the run fetches it."""
    local = _local_read(data_cfg, data_dir)
    return None if local is None else _as_set(copy.copy(read_once(*local).data), data_cfg)


def _as_set(data: ImageData, data_cfg: DictConfig) -> ImageData:
    """``data`` as read, with ``data.subset`` and ``data.binarize`` applied."""
    if data_cfg.subset:
        _check_subset(data_cfg, len(data.train_images))  # data.root may hold fewer
        data.train_images = data.train_images[: data_cfg.subset]
        data.train_labels = data.train_labels[: data_cfg.subset]
    return binarized(data, data_cfg.get("binarize", "none"), seed=data_cfg.split_seed)


def read_ahead(data_cfg: DictConfig, data_dir: str | Path | None = None) -> int | None:
    """Read the local files a run will read (an image folder's images, the IDX files in
    ``data.root``, else those found without fetching: the Debian package's, ``data_dir``'s),
    refusing a damaged one, or a ``data.subset`` beyond them, now, before the run's folder is
    made; ``load_data`` then takes them as read; a named set found nowhere is fetched now,
    or refused. Returns the training images the run will have; None without ``data_dir``."""
    local = _local_read(data_cfg, data_dir)
    if local is None and data_dir is not None and data_cfg.name in KNOWN_TRAIN_SIZES:
        load_data(data_cfg, data_dir=data_dir)  # downloads it, or says what lacks and why
        local = _local_read(data_cfg, data_dir)
    if local is None:
        return None
    train = len(read_once(*local).data.train_images)
    if data_cfg.subset:
        _check_subset(data_cfg, train)
    return min(train, data_cfg.subset or train)


def _local_read(
    data_cfg: DictConfig, data_dir: str | Path | None = None, look_also: Sequence[Path] = ()
) -> tuple[tuple, tuple, Callable[[], ImageData]] | None:
    """(key, stamp, reader) of the data a run reads from local files (``read_ahead``), read
    the same way by every caller and reused while the files' stamps hold; None else."""
    name, root, common = data_cfg.name, data_cfg.root, _split_settings(data_cfg)
    if name == "image_folder":
        listing = _checked_listing(data_cfg)
        size, channels = data_cfg.image_size, data_cfg.channels
        key = (name, str(listing.folder.resolve()), size, channels, data_cfg.test_size,
               *sorted(common.items()))  # fmt: skip
        return key, listing.stamp(), lambda: load_image_folder(
            root=root, listing=listing, image_size=size, channels=channels,
            test_size=data_cfg.test_size, **common,
        )  # fmt: skip
    if name == "cifar10" and (root or data_dir):  # a local folder holding every batch
        folder = cifar10_folder(root, Path(data_dir or "").expanduser(), look_also)
        if (files := cifar10_files(folder)) is None:  # read_ahead fetches it, or names what lacks
            return None
        key = (name, str(folder.resolve()), *sorted(common.items()))
        return key, tuple(file_stamp(path.stat()) for path in files), lambda: load_cifar10(
            root=root, data_dir=folder, download=False, look_also=(), **common
        )  # fmt: skip
    if name not in IDX_DATASETS or not (root or data_dir):
        return None
    if root:
        folder, data_dir = named_idx_dir(name, Path(root).expanduser()), Path(root)
    else:  # where the run would find them first; None: it fetches them, after its checks
        data_dir = Path(data_dir).expanduser().resolve()
        folder = find_idx_dir(idx_candidates(name, data_dir, look_also))
        if folder is None:
            return None
    files = [idx_file(folder, stem) for stem in IDX_FILES.values()]  # a folder may not be listed
    stamp = tuple((path, file_stamp(path.stat())) for path in files if path)
    key = (name, str(folder.resolve()), *sorted(common.items()))
    return key, stamp, lambda: load_idx_dataset(
        name, root=root, data_dir=data_dir, download=False, look_also=look_also, **common
    )  # fmt: skip


def _split_settings(data_cfg: DictConfig) -> dict:
    """The settings that draw the splits from the files read (``data.subset`` and
    ``data.binarize`` apply to the splits after)."""
    return dict(val_size=data_cfg.val_size, split_seed=data_cfg.split_seed)
