"""CIFAR-10 through torchvision, from a local ``cifar-10-batches-py`` folder or its download.

torchvision unpickles the batches, but only after each file's MD5 matches the published
one's: a batch changed by hand, or one that names code, is refused unopened. A local
folder holding every file is read before the run's folder is made (``aegan.data``'s
``read_ahead``), so a damaged one is one line and leaves no folder behind."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from aegan.data.sources import ImageData, _one_line
from aegan.data.splits import split_train_val
from aegan.errors import DataFileError, DataNotFoundError

BATCHES = "cifar-10-batches-py"  # torchvision's folder of the python batches
FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta")


def cifar10_folder(root: str | None, data_dir: Path, look_also: Sequence[Path] = ()) -> Path:
    """The folder holding ``cifar-10-batches-py`` that a run reads: ``data.root``, else
    ``paths.data_dir`` or the first of ``look_also`` that holds it (a download: data_dir)."""
    if root:
        return Path(root).expanduser()
    held = (f for f in (data_dir, *look_also) if (f / BATCHES).is_dir())
    return next(held, data_dir)


def cifar10_files(folder: Path) -> list[Path] | None:
    """The batch files in ``folder``'s ``cifar-10-batches-py`` where every one is there as
    a regular file; None where any is not (a download fetches them)."""
    files = [folder / BATCHES / name for name in FILES]
    return files if all(path.is_file() for path in files) else None


def load_cifar10(
    *, root: str | None, data_dir: Path, download: bool, val_size: int, split_seed: int,
    look_also: Sequence[Path] = (),
) -> ImageData:  # fmt: skip
    """CIFAR-10 as uint8 (N, 3, 32, 32), from ``cifar10_folder``. Files all there that
    torchvision refuses (cut, changed, not the published batches) are a ``DataFileError``:
    never downloaded over, as they are the user's."""
    import torchvision.datasets as tvd

    folder = cifar10_folder(root, data_dir, look_also)
    present = cifar10_files(folder) is not None
    try:
        train = tvd.CIFAR10(root=str(folder), train=True, download=download and not present)
        test = tvd.CIFAR10(root=str(folder), train=False, download=False)
    except Exception as err:
        if present:
            raise DataFileError(
                f"cifar10 files in {folder / BATCHES} are not the published batches "
                f"({_one_line(err)}); put torchvision's cifar-10-batches-py back there, or "
                "move that folder away to download it again"
            ) from None
        network = (  # download is true by default: only say to allow it where it is not
            "; the download was tried and failed (check the network)" if download
            else ", or allow the download with data.download=true"
        )  # fmt: skip
        raise DataNotFoundError(
            f"cifar10 data not found in {folder} ({_one_line(err)}). To fix: put torchvision's "
            f"cifar-10-batches-py folder there or pass data.root=FOLDER{network}"
        ) from err

    def as_tensors(ds) -> tuple[torch.Tensor, torch.Tensor]:
        images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()  # (N, 3, 32, 32)
        return images, torch.as_tensor(ds.targets, dtype=torch.long)

    train_x, train_y, val_x, val_y = split_train_val(
        *as_tensors(train), val_size=val_size, seed=split_seed
    )
    test_x, test_y = as_tensors(test)
    return ImageData(
        "cifar10", train_x, train_y, val_x, val_y, test_x, test_y, tuple(train.classes), str(folder)
    )
