"""Where a run read back (``aegan.load_run``) finds its images: in the folder its record
names, within bounds, or in the reader's; nothing is downloaded unless the reader asks.

The record's ``data.root`` is where the run read its images, so a run trained from its own
folder is read back from it; but the record is not the reader's word. An image folder is
walked whole, and a record naming ``/`` would have the whole disk listed: one the record
names is listed up to ``RECORD_ENTRIES`` files and folders, one the reader names without
a bound. A named data set is a few files, looked up by name: read from it where they are
there, else from the reader's folders, as for a run without one; a download the reader asks
for goes into the reader's folder, never into one the record names.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from aegan.data import DATASETS, ImageData, load_data
from aegan.data.cifar import cifar10_files, cifar10_folder
from aegan.data.image_files import TooManyEntries, list_image_folder
from aegan.data.sources import IDX_DATASETS, find_idx_dir
from aegan.errors import CheckpointError, ConfigError, DataFileError, DataNotFoundError
from aegan.io.files import check_folder
from aegan.settings.overrides import override_key

log = logging.getLogger("aegan.run")
# Files and folders of an image folder that a run's record names, listed before a refusal:
# a data set far larger than one held whole in memory at the sizes runs take (CelebA is
# 202,599 images), and a few seconds of listing.
RECORD_ENTRIES = 2**18


def read_run_data(
    config: DictConfig, state: dict, *, data_dir: str, overrides: Sequence[str], path: Path
) -> ImageData:
    """The images of the run whose checkpoint ``path`` holds ``state``, rebuilt as
    ``config`` (``overrides``: the reader's): looked for in ``data_dir`` (the reader's),
    then the data folder the record names, which is only read."""
    _check_recorded_folder(config.data, overrides, path)
    try:
        return load_data(config.data, data_dir=data_dir, look_also=_read_from(state))
    except DataNotFoundError as err:
        if config.data.get("download"):
            raise
        raise DataNotFoundError(
            f"{err}; reading a run back downloads nothing unless its overrides set "
            "data.download=true"
        ) from None


def take_recorded_root(data_cfg: DictConfig, overrides: Sequence[str], path: Path) -> None:
    """Keep the record's ``data.root`` where it holds the run's named data set here (its
    files by name: a few stat() calls); else set it null, said in one line, so that the
    reader's folders are looked in as for a run without one: a run trained on another
    machine, or a record naming a folder without such data, which a download would have
    written into. An image folder is only where the record says: one not there is one line
    saying how the reader names theirs."""
    root, name = data_cfg.get("root"), data_cfg.get("name")
    if not root or name not in DATASETS or "data.root" in map(override_key, overrides):
        return  # a data set aegan does not know is check_data_config's to name
    try:
        there = check_folder("data.root", root)
    except ConfigError:  # a file here, or below a folder of another user's: not the data here
        if name == "image_folder":
            raise
        there = False
    if name == "image_folder" and not there:
        raise CheckpointError(
            f"{path}: its record's data.root={root} is not a folder here; name the folder "
            "holding the run's images: overrides=['data.root=DIR']"
        )
    if name == "image_folder" or (there and _holds(name, Path(root))):
        return
    log.warning("%s: its record's data.root=%s holds no %s here: it is looked for in your "
                "folders instead", path, root, name)  # fmt: skip
    data_cfg.root = None


def _holds(name: str, folder: Path) -> bool:
    """Whether ``folder`` holds every file of the named data set ``name``."""
    folder = folder.expanduser()
    try:
        if name in IDX_DATASETS:
            return find_idx_dir([folder, folder / IDX_DATASETS[name] / "raw"]) is not None
        return cifar10_files(cifar10_folder(str(folder), folder)) is not None
    except (ConfigError, DataFileError, DataNotFoundError):  # out of place, not regular files,
        return False  # or in a folder this user may not read (another's, on a shared machine)


def _check_recorded_folder(data_cfg: DictConfig, overrides: Sequence[str], path: Path) -> None:
    """An image folder that the record names, not the reader, listed up to
    ``RECORD_ENTRIES`` entries; more, or a folder that is no data set, is one line naming
    the record and how the reader names a folder of theirs."""
    if data_cfg.name != "image_folder" or "data.root" in map(override_key, overrides):
        return
    try:
        list_image_folder(
            data_cfg.root, val_size=data_cfg.val_size, test_size=data_cfg.test_size,
            most_entries=RECORD_ENTRIES,
        )  # fmt: skip
    except TooManyEntries as err:
        raise CheckpointError(
            f"{path}: its record's {err}, and a folder a run's record names is listed up to "
            f"{RECORD_ENTRIES}; to read it, name it yourself: overrides=['data.root=...']"
        ) from None
    except (ConfigError, DataFileError, DataNotFoundError) as err:  # the record's, not yours
        raise CheckpointError(
            f"{path}: the folder its record names: {err}; to read another, name it: "
            "overrides=['data.root=DIR']"
        ) from None


def _read_from(state: dict) -> list[str]:
    """The data folder the run's record names (``paths.data_dir``), where it is one: looked
    in for a named data set after the reader's own, read only (a download goes into the
    reader's), and the images found there checked against the run's fingerprint."""
    paths = state["config"].get("paths")
    folder = paths.get("data_dir") if isinstance(paths, dict) else None
    try:
        check_folder("paths.data_dir", folder)
    except ConfigError:  # a damaged record: nowhere more to look
        return []
    return [folder] if Path(folder).is_absolute() else []
