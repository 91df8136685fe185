"""Locate, fetch and read image data sets into uint8 tensors held whole in memory.

Every source returns an ``ImageData``: train / val / test images as one uint8 tensor
each, ``(N, C, H, W)``, with int64 labels. The sets used here are small (Fashion-MNIST
is 47 MB as uint8), so holding them whole and batching on the device beats a
``DataLoader`` by several times (see ``aegan.bench``).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from aegan.data.idx import read_idx
from aegan.data.idx_checks import IDX_LABELS, check_idx_contents, check_idx_set
from aegan.data.splits import split_train_val
from aegan.errors import DataNotFoundError
from aegan.io.path_kinds import not_regular, path_kind, shown

log = logging.getLogger(__name__)

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
MNIST_CLASSES = tuple(str(d) for d in range(10))

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclass
class ImageData:
    """A data set split three ways; images uint8 ``(N, C, H, W)``, labels int64 ``(N,)``."""

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    source: str  # where the files came from, for the log
    binarized: bool = False  # data.binarize: every split's pixels are 0 or 255
    # data.binarize=dynamic: the grey training images that each batch is drawn from as
    # Bernoulli pixels at every step; ``train_images`` then holds one seeded draw, the
    # binarised images every metric measures, as the test split is one
    train_intensities: torch.Tensor | None = None

    @property
    def training_pixels(self) -> tuple[torch.Tensor, bool]:
        """(images, binarize): what the training batches come from, and whether each batch
        is drawn from them as Bernoulli pixels."""
        if self.train_intensities is None:
            return self.train_images, False
        return self.train_intensities, True

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_images.shape[1:])  # (C, H, W)

    def fixed_images(self, n: int) -> torch.Tensor:
        """The first ``n`` validation images (training images when there are none): the
        same ones every epoch, for the pictures."""
        return (self.val_images if len(self.val_images) else self.train_images)[:n]

    def to(self, device: torch.device | str) -> ImageData:
        """Move every tensor to ``device`` (one copy each; they stay uint8)."""
        moved = {
            k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
            for k, v in vars(self).items()
        }
        return ImageData(**moved)


# --------------------------------------------------------------------------- IDX sets


def find_idx_dir(candidates: Sequence[Path]) -> Path | None:
    """The first folder holding all four IDX files, gzipped or not."""
    for folder in candidates:
        if all(idx_file(folder, stem) is not None for stem in IDX_FILES.values()):
            return folder
    return None


def idx_file(folder: Path, stem: str) -> Path | None:
    """``folder``'s IDX file ``stem`` (.gz or not) where it is a regular file, else None. A
    folder this user may not search is one line naming it: taken for one without the files,
    it was said to lack them, or a traceback, depending on the Python version."""
    for name in (stem, stem + ".gz"):
        try:
            if stat.S_ISREG(os.stat(folder / name).st_mode):
                return folder / name
        except OSError as err:
            if err.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):  # a loop: named later
                raise DataNotFoundError(
                    f"{shown(folder)} cannot be searched for IDX files ({err.strerror}): make it "
                    "readable by this user"
                ) from None
    return None


def _try_apt_install(package: str) -> str:
    """Install a Debian package when we are root with apt-get; return what happened."""
    if shutil.which("apt-get") is None:
        return "apt-get not found"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "not root, so apt-get was not run"
    log.info("installing Debian package %s (apt-get)...", package)
    cmd = ["apt-get", "install", "-y", "-q", package]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:  # the package lists may be missing on a fresh machine
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=600)
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["?"]
        return f"apt-get install {package} failed: {tail[0]}"
    return "ok"


def _one_line(err: Exception, limit: int = 200) -> str:
    """``Type: message`` on one line (torchvision's download errors span several), shortened."""
    text = f"{type(err).__name__}: {' '.join(str(err).split())}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _try_torchvision_download(dataset_cls_name: str, data_dir: Path) -> str:
    try:
        import torchvision.datasets as tvd

        dataset_cls = getattr(tvd, dataset_cls_name)
        for train in (True, False):
            dataset_cls(root=str(data_dir), train=train, download=True)
        return "ok"
    except Exception as err:  # network errors come in many types
        return f"torchvision download failed: {_one_line(err)}"


IDX_DATASETS = {"fashion_mnist": "FashionMNIST", "mnist": "MNIST"}  # name -> torchvision's


def named_idx_dir(name: str, root: Path) -> Path:
    """The folder under ``data.root`` holding the four IDX files of ``name`` (a key of
    ``IDX_DATASETS``); one line saying what is missing there otherwise."""
    tv_name = IDX_DATASETS[name]
    try:
        folder = find_idx_dir([root, root / tv_name / "raw"])
    except DataNotFoundError as err:  # the folder the user named is the setting to name
        raise DataNotFoundError(f"data.root={shown(root)}: {err}") from None
    if folder is not None:
        return folder
    if not root.is_dir():
        what = f"{path_kind(root) or 'a file'}, not a folder" if root.exists() else "not there"
        raise DataNotFoundError(
            f"data.root={root} is {what}; pass the folder holding the {name} IDX files"
        )
    missing = [stem for stem in IDX_FILES.values() if idx_file(root, stem) is None]
    # there, but a folder, a FIFO or a device: "not there" would send the user looking
    odd = [root / n for stem in missing for n in (stem, stem + ".gz") if os.path.lexists(root / n)]
    if odd:
        kind = not_regular(path_kind(odd[0]) or "not a regular file")
        raise DataNotFoundError(
            f"data.root={root}: {odd[0].name} is {kind}; the {name} IDX files must be regular "
            "files (.gz or not)"
        )
    raise DataNotFoundError(
        f"data.root={root} lacks {name} IDX files: {', '.join(missing)} (.gz or not) are not there"
    )


def idx_candidates(name: str, data_dir: Path, look_also: Sequence[Path] = ()) -> list[Path]:
    """Where the IDX files of ``name`` are looked for, in order, without ``data.root``: the
    Debian package's folder, then torchvision's layout under ``paths.data_dir`` and each
    folder of ``look_also``; ``find_idx_dir`` of them is the folder a run reads."""
    candidates = [DEBIAN_FASHION_MNIST] if name == "fashion_mnist" else []
    return candidates + [f / IDX_DATASETS[name] / "raw" for f in (data_dir, *look_also)]


def _find_or_fetch_idx(
    name: str, tv_name: str, data_dir: Path, download: bool, look_also: Sequence[Path] = ()
) -> tuple[Path, str]:
    """The IDX folder of the Debian package, ``paths.data_dir`` or a folder of ``look_also``,
    else installed or downloaded into ``paths.data_dir``; (folder, how it was found)."""
    candidates = idx_candidates(name, data_dir, look_also)
    tried = [f"looked in {p}" for p in candidates]
    folder = find_idx_dir(candidates)
    how = "found"
    if folder is None and name == "fashion_mnist" and download:
        outcome = _try_apt_install("dataset-fashion-mnist")
        tried.append(f"apt-get install dataset-fashion-mnist: {outcome}")
        folder = find_idx_dir([DEBIAN_FASHION_MNIST])
        how = "installed the Debian package dataset-fashion-mnist;"
    if folder is None and download:
        outcome = _try_torchvision_download(tv_name, data_dir)
        tried.append(f"torchvision download into {data_dir}: {outcome}")
        folder = find_idx_dir([data_dir / tv_name / "raw"])
        how = "downloaded with torchvision;"
    if folder is None:
        hint = (
            "install the Debian package (apt-get install dataset-fashion-mnist), "
            if name == "fashion_mnist"
            else ""
        )
        raise DataNotFoundError(
            f"{name} data not found: {'; '.join(tried)}. To fix: {hint}"
            f"put the four IDX files ({', '.join(IDX_FILES.values())}, .gz or not) in a folder "
            "and pass data.root=FOLDER, or allow the network for torchvision's download"
        )
    return folder, how


def load_idx_dataset(
    name: str,
    *,
    root: str | None,
    data_dir: Path,
    download: bool,
    val_size: int,
    split_seed: int,
    look_also: Sequence[Path] = (),
) -> ImageData:
    """Fashion-MNIST or MNIST from IDX files: the first way that works, said in the log.

    ``data.root`` (if given) must hold them. Otherwise: the Debian package folder
    (Fashion-MNIST), the torchvision layout under ``paths.data_dir``, then under each of
    ``look_also``; then install the Debian package ``dataset-fashion-mnist`` (as root),
    then torchvision's download.
    """
    tv_name = IDX_DATASETS[name]
    classes = FASHION_MNIST_CLASSES if name == "fashion_mnist" else MNIST_CLASSES
    if root:  # the folder the user named holds the data, or the run stops: no fallback
        folder = named_idx_dir(name, Path(root).expanduser())
        how = "found"
    else:
        folder, how = _find_or_fetch_idx(name, tv_name, data_dir, download, look_also)
    log.info("%s: %s using IDX files in %s", name, how, folder)

    labels = {key: read_idx(idx_file(folder, IDX_FILES[key])) for key in IDX_LABELS}
    check_idx_set(name, folder, labels, root)  # before the images: 60 kB, not 50 MB
    arrays = {key: read_idx(idx_file(folder, stem)) for key, stem in IDX_FILES.items()
              if key not in labels} | labels  # fmt: skip
    check_idx_contents(name, folder, arrays, len(classes))
    train_x, train_y, val_x, val_y = split_train_val(
        arrays["train_images"].unsqueeze(1),  # (N, 1, 28, 28)
        arrays["train_labels"].long(),
        val_size=val_size,
        seed=split_seed,
    )
    return ImageData(
        name=name,
        train_images=train_x,
        train_labels=train_y,
        val_images=val_x,
        val_labels=val_y,
        test_images=arrays["test_images"].unsqueeze(1),
        test_labels=arrays["test_labels"].long(),
        classes=classes,
        source=str(folder),
    )
