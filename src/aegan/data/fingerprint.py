"""What a run's figures rest on: a digest of each split's images and labels.

A run records its data's fingerprint in every checkpoint. The settings alone do not pin the
data: files added to an image folder redraw its splits, and a resume or an evaluation on
them would train on test images, or measure other images, with nothing said.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from aegan.data import local_data
from aegan.errors import DataFileError

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
DIGEST_SIZE = 16  # bytes of blake2b per split
DIGEST = re.compile(f"[0-9a-f]{{{2 * DIGEST_SIZE}}}")  # a split's fingerprint in hex


def _digest(images: torch.Tensor, labels: torch.Tensor) -> str:
    digest = hashlib.blake2b(digest_size=DIGEST_SIZE)
    digest.update(repr((tuple(images.shape), str(images.dtype))).encode())
    for tensor in (images, labels):
        digest.update(tensor.detach().cpu().contiguous().numpy())  # its buffer, not a copy
    return digest.hexdigest()


def data_fingerprint(data: Any) -> dict[str, Any]:
    """``{"train": hex, "val": hex, "test": hex, "sizes": [n_train, n_val, n_test]}`` of an
    ``ImageData``: plain values, saved with the checkpoints."""
    images = {"train": data.training_pixels[0], "val": data.val_images, "test": data.test_images}
    fingerprint: dict[str, Any] = {
        split: _digest(images[split], getattr(data, f"{split}_labels")) for split in SPLITS
    }
    fingerprint["sizes"] = [len(getattr(data, f"{split}_images")) for split in SPLITS]
    return fingerprint


def changed_splits(saved: Any, now: dict[str, Any]) -> list[str]:
    """The splits whose images or labels differ from a checkpoint's fingerprint (``saved``,
    as ``checkpoint_contents.fingerprint_problem`` admits it); none when it has none (a
    checkpoint written before they were kept)."""
    if not isinstance(saved, dict):
        return []
    return [split for split in SPLITS if saved[split] != now[split]]


def describe_change(saved: dict[str, Any], now: dict[str, Any], splits: list[str]) -> str:
    """``test split (10000 images then, 10004 now)``-style words for the changed splits."""
    before = saved.get("sizes")
    if not (isinstance(before, list) and len(before) == len(SPLITS)):
        before = [None] * len(SPLITS)
    words = []
    for split in splits:
        index = SPLITS.index(split)
        then, here = before[index], now["sizes"][index]
        sizes = f"{then} images then, {here} now" if then not in (None, here) else (
            f"{here} images, not the same ones"
        )  # fmt: skip
        words.append(f"{split} split ({sizes})")
    return ", ".join(words)


# data settings that do not choose the images (where the files are, how they are batched)
NOT_IMAGE_KEYS = ("root", "download", "batch_size")


def same_data_settings(saved_config: Any, data_cfg: Any) -> bool:
    """Whether a checkpoint's ``data`` settings (its record) ask for the data ``data_cfg``
    asks for, wherever the files are: then the fingerprints must agree."""
    if not isinstance(saved_config, dict) or not isinstance(saved_config.get("data"), dict):
        return False
    saved = {k: v for k, v in saved_config["data"].items() if k not in NOT_IMAGE_KEYS}
    if isinstance(data_cfg, DictConfig):
        data_cfg = OmegaConf.to_container(data_cfg, resolve=True)
    now = {k: v for k, v in data_cfg.items() if k not in NOT_IMAGE_KEYS}
    return saved == now


def data_change(state: dict, fingerprint: dict[str, Any], data_cfg: Any) -> str | None:
    """What changed in the data that the run's settings name since it trained (files added
    to, removed from or edited in the folder), in words starting "the fashion_mnist images";
    None when nothing did, or when ``data_cfg`` asks for other data (a choice, not a change)."""
    if not same_data_settings(state.get("config"), data_cfg):
        return None
    if state.get("data") is None:  # said, as the check it stands for is not made
        log.warning(
            "the checkpoint holds no fingerprint of its data (it was written before they were "
            "kept): whether the %s images are those the run trained on is not checked",
            data_cfg.get("name"),
        )
        return None
    splits = changed_splits(state.get("data"), fingerprint)
    if not splits:
        return None
    root = data_cfg.get("root")
    where = f" at data.root={root}" if root else ""
    return (
        f"the {data_cfg.get('name')} images{where} are not those the run trained on "
        f"({describe_change(state['data'], fingerprint, splits)})"
    )


def check_same_data(state: dict, fingerprint: dict[str, Any], data_cfg: Any, *, what: str) -> None:
    """Refuse changed data (``data_change``): ``what`` would train on images measured as
    unseen, or measure other images under the run's name."""
    change = data_change(state, fingerprint, data_cfg)
    if change:
        raise DataFileError(f"{what}: {change}; put the run's files back, or start a new run")


def check_resumed_data(state: dict, data_cfg: Any, data_dir: Any, *, what: str) -> None:
    """``check_same_data`` before the run's folder is made, on the local files the run will
    read (``aegan.data.local_data``): refused there, a resume on changed files leaves no
    new folder behind. Data the run fetches is checked by the run, once it has it."""
    data = local_data(data_cfg, data_dir)
    if data is not None:
        check_same_data(state, data_fingerprint(data), data_cfg, what=what)
