"""CIFAR-10 from a local ``cifar-10-batches-py`` folder or torchvision's download of it.

The batches are pickles, so they are read here, not by torchvision: each file is read once
into memory, its MD5 checked against the published one's, and those same bytes unpickled by
an unpickler that knows only numpy's arrays. A batch changed by hand, swapped after its
check, or naming code is refused, and no code it names runs. A local folder holding every
file is read before the run's folder is made (``aegan.data``'s ``read_ahead``), so a damaged
one is one line and leaves no folder behind."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from aegan.data.sources import ImageData, _one_line
from aegan.data.splits import split_train_val
from aegan.errors import ConfigError, DataFileError, DataNotFoundError
from aegan.io.path_kinds import not_regular, path_kind
from aegan.io.readback import read_limited

BATCHES = "cifar-10-batches-py"  # torchvision's folder of the python batches
TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST, META = "test_batch", "batches.meta"
FILES = (*TRAIN, TEST, META)
PUBLISHED_MD5 = {  # torchvision's CIFAR10.train_list, test_list and meta
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
BATCH_LIMIT = 64 * 2**20  # a published batch is 31 MB
PIXELS = 3 * 32 * 32
MULTIARRAY = np.ndarray.__reduce__(np.zeros(0))[0].__module__  # numpy's own, 1 or 2


def cifar10_folder(root: str | None, data_dir: Path, look_also: Sequence[Path] = ()) -> Path:
    """The folder holding ``cifar-10-batches-py`` that a run reads: ``data.root``, else
    ``paths.data_dir`` or the first of ``look_also`` that holds it (a download: data_dir).
    A ``data.root`` that holds the batches themselves is refused: a download would put a
    second copy inside it."""
    if root:
        folder = Path(root).expanduser()
        inside = [name for name in FILES if os.path.lexists(folder / name)]
        if inside and not os.path.lexists(folder / BATCHES):
            raise ConfigError(
                f"data.root={root} holds the batches themselves ({inside[0]}); it must be the "
                f"folder that holds {BATCHES}: data.root={folder.parent}"
            )
        return folder
    held = (
        f for f in (data_dir, *look_also) if os.path.isdir(f / BATCHES)
    )  # unreadable: passed over
    return next(held, data_dir)


def cifar10_files(folder: Path) -> list[Path] | None:
    """The batch files in ``folder``'s ``cifar-10-batches-py`` where every one is there as
    a regular file; None where one is missing (a download fetches them). A name there that
    is no regular file (a FIFO, a folder, a link to nothing) is a ``DataFileError``: a
    download would write through it, or wait on it."""
    batches = folder / BATCHES
    if os.path.lexists(batches) and not os.path.isdir(batches):
        raise _not_published(folder, f"{BATCHES} is {path_kind(batches) or 'a file'}, not a folder")
    files = [batches / name for name in FILES]
    for path in files:
        if (kind := path_kind(path)) is not None and kind.startswith("not readable"):
            raise DataFileError(  # a folder on the way this user may not search: not theirs
                f"cifar10 files in {batches} cannot be read: {path.name} is {kind}; make them "
                "readable by this user"
            )
        if kind is not None:
            raise _not_published(batches, f"{path.name} is {not_regular(kind)}")
    return files if all(os.path.isfile(path) for path in files) else None


def load_cifar10(
    *, root: str | None, data_dir: Path, download: bool, val_size: int, split_seed: int,
    look_also: Sequence[Path] = (),
) -> ImageData:  # fmt: skip
    """CIFAR-10 as uint8 (N, 3, 32, 32), from ``cifar10_folder``, downloaded there where a
    file is missing and ``download`` allows. Files all there that are not the published
    batches are a ``DataFileError``: never downloaded over, as they are the user's."""
    folder = cifar10_folder(root, data_dir, look_also)
    if cifar10_files(folder) is None:
        _fetch(folder, download)
    train_x, train_y, test_x, test_y, classes = read_cifar10(folder / BATCHES)
    train_x, train_y, val_x, val_y = split_train_val(
        train_x, train_y, val_size=val_size, seed=split_seed
    )
    return ImageData(
        "cifar10", train_x, train_y, val_x, val_y, test_x, test_y, classes, str(folder)
    )


def read_cifar10(
    batches: Path, checksums: Mapping[str, str] = PUBLISHED_MD5
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """(train images, train labels, test images, test labels, class names) of the folder
    ``batches``, each file held to its MD5 in ``checksums``; ``DataFileError`` otherwise."""
    train = [_batch(batches, name, checksums) for name in TRAIN]
    test_x, test_y = _batch(batches, TEST, checksums)
    meta = _unpickle(batches / META, checksums[META])
    classes = meta.get("label_names") if isinstance(meta, dict) else None
    if not (
        isinstance(classes, list) and len(classes) == 10
        and all(isinstance(name, str) and name.isprintable() and 0 < len(name) <= 64
                for name in classes)
    ):  # fmt: skip
        raise _not_published(batches, f"{META} names no 10 label_names (short printable text)")
    train_x = torch.cat([images for images, _ in train])
    return train_x, torch.cat([labels for _, labels in train]), test_x, test_y, tuple(classes)


def _batch(batches: Path, name: str, checksums: Mapping[str, str]):
    """One batch as (images (N, 3, 32, 32) uint8, labels (N,) int64)."""
    entry = _unpickle(batches / name, checksums[name])
    data = entry.get("data") if isinstance(entry, dict) else None
    labels = entry.get("labels") if isinstance(entry, dict) else None
    if not (
        isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
        and data.shape[1] == PIXELS and isinstance(labels, list) and len(labels) == len(data)
        and all(type(label) is int and 0 <= label < 10 for label in labels)
    ):  # fmt: skip
        raise _not_published(batches, f"{name} holds no data and labels of CIFAR-10's shape")
    images = torch.from_numpy(data.reshape(-1, 3, 32, 32).copy())
    return images, torch.as_tensor(labels, dtype=torch.long)


def _unpickle(path: Path, md5: str) -> object:
    """The batch at ``path``: its bytes read once, held to ``md5``, then unpickled."""
    try:
        data = read_limited(path, BATCH_LIMIT)
    except OSError as err:
        raise _not_published(path.parent, f"{path.name}: {err.strerror or err}") from None
    if hashlib.md5(data, usedforsecurity=False).hexdigest() != md5:
        raise _not_published(path.parent, f"{path.name}'s MD5 is not the published one")
    try:
        return _ArraysOnly(io.BytesIO(data), encoding="latin1").load()
    except Exception as err:  # only where checksums other than the published ones are given
        raise _not_published(path.parent, f"{path.name}: {_one_line(err)}") from None


class _ArraysOnly(pickle.Unpickler):
    """An unpickler for the batches: numpy arrays of plain dtypes, and nothing that runs."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    }  # fmt: skip

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which is not allowed")
        if (module, name) == ("_codecs", "encode"):
            return _latin1_bytes
        if module.endswith("multiarray"):  # the published batches name numpy 1's module
            module = MULTIARRAY
        return super().find_class(module, name)


def _latin1_bytes(text: object, encoding: object = "latin1") -> bytes:
    """``_codecs.encode`` as protocol 2 pickles bytes: text to latin-1 and nothing else; any
    other codec (zlib, idna, one a package registers) is code a file would choose."""
    if not (isinstance(text, str) and encoding in ("latin1", "latin-1")):
        raise pickle.UnpicklingError(f"it encodes with {encoding!r:.20}, not latin1")
    return text.encode("latin1")


def _not_published(folder: Path, reason: str) -> DataFileError:
    return DataFileError(
        f"cifar10 files in {folder} are not the published batches ({reason}); put "
        "torchvision's cifar-10-batches-py back there, or move that folder away to download "
        "it again"
    )


def _remove_made(folders: list[Path], archive: Path | None) -> None:
    """What a failed download made and left: its part of the archive, and the ``folders``
    (deepest first) it made, where they are empty."""
    if archive is not None:
        archive.unlink(missing_ok=True)
    for path in folders:
        try:
            path.rmdir()
        except OSError:  # not empty (a part of the archive unpacked), or not ours
            return


def _fetch(folder: Path, download: bool) -> None:
    """torchvision's download of the batches into ``folder``, its archive held to its MD5;
    ``DataNotFoundError`` where it is not allowed or fails."""
    from torchvision.datasets import CIFAR10, utils

    missing = next(name for name in FILES if not (folder / BATCHES / name).is_file())
    held = [name for name in FILES if (folder / BATCHES / name).is_file()]
    if held:  # the archive's extraction would write over them: they are the user's
        raise DataFileError(
            f"cifar10 files in {folder / BATCHES} are incomplete ({missing} is missing, "
            f"{len(held)} of {len(FILES)} there); put it back, or move that folder away to "
            "download it again"
        )
    detail = f" ({BATCHES}/{missing} is missing)"
    advice = ", or allow the download with data.download=true"
    if download:
        made = [path for path in (folder, *folder.parents) if not os.path.lexists(path)]
        archive = folder / CIFAR10.filename
        made_archive = not os.path.lexists(archive)
        try:
            utils.download_and_extract_archive(
                CIFAR10.url, str(folder), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5
            )
        except Exception as err:
            detail = f" ({BATCHES}/{missing} is missing; the download: {_one_line(err)})"
            _remove_made(made, archive if made_archive else None)
        advice = "; the download was tried and failed (check the network)"
        if cifar10_files(folder) is not None:
            return
    raise DataNotFoundError(
        f"cifar10 data not found in {folder}{detail}. To fix: put torchvision's "
        f"cifar-10-batches-py folder there or pass data.root=FOLDER{advice}"
    )
