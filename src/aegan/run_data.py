"""Where a run read back (``aegan.load_run``) finds its images: in the folder its record
names, within bounds, or in the reader's; nothing is downloaded unless the reader asks.

The record's ``data.root`` is where the run read its images, so a run trained from its own
folder is read back from it; but the record is not the reader's word. An image folder is
walked whole, and a record naming ``/`` would have the whole disk listed: one the record
names is listed up to ``RECORD_ENTRIES`` files and folders, one the reader names without
a bound. A named data set in it is a few files, looked up by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from aegan.data import ImageData, load_data
from aegan.data.image_files import TooManyEntries, list_image_folder
from aegan.errors import CheckpointError, ConfigError, DataNotFoundError
from aegan.files import check_folder
from aegan.overrides import override_key

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


def _check_recorded_folder(data_cfg: DictConfig, overrides: Sequence[str], path: Path) -> None:
    """An image folder that the record names, not the reader, listed up to ``RECORD_ENTRIES``
    entries; more is one line saying how the reader takes it on as theirs."""
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
