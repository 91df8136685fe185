"""What a task's methods take from a caller (a notebook, ``aegan.load_run``'s ``Run``): counts,
codes and images, checked in one place. Each refusal is one ``ValueError`` line naming the
argument, its value and what the method takes: a tensor of another shape, dtype or device
read as a torch traceback from deep in a network, or as images made without a word.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import torch

from aegan.data import normalize
from aegan.metrics.arguments import image_values, integer

MEMORY_SHARE = 0.8  # of a device's memory that a model's training state or images may take


def device_memory(device: torch.device) -> int:
    """Bytes of memory of ``device``: the GPU's, or this machine's."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_fits(
    what: str, n: int, shape: tuple[int, ...], device: torch.device, *, copies: int = 1
) -> None:
    """Refuse ``n`` float images that could not be held at once, ``copies`` times over (an
    input's float copy beside the output): the allocation would fail after minutes, or the
    kernel be killed with all the notebook held."""
    needed, total = 4 * copies * n * math.prod(shape), device_memory(device)
    if needed > MEMORY_SHARE * total:
        raise ValueError(
            f"{what}: {n} images of {shape} take {needed / 2**30:.1f} GiB, more than "
            f"{MEMORY_SHARE:.0%} of this {device.type}'s {total / 2**30:.1f} GiB; "
            "ask for fewer at a time"
        )


def taken_count(task: Any, method: str, n: Any) -> int:
    """``n`` for ``task.method``: a count of images to make, an integer >= 0 whose images
    (of the task's ``image_shape``, where it keeps one) fit its device twice over (the
    chunks made and the output they are joined into), else one line naming both."""
    n = integer("n", n, low=0, meaning="the number of images must be an integer >= 0")
    shape = getattr(task, "image_shape", None)  # a task of one's own may not keep it
    if shape is not None:
        taker = f"{type(task).__name__}.{method}(n={n})"
        check_fits(taker, n, tuple(shape), _device_of(task), copies=2)
    return n


def random_source(taker: str, generator: Any) -> torch.Generator | None:
    """``generator`` if it is a ``torch.Generator`` or None (torch's default one)."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(
            f"generator={generator!r:.40}: {taker} takes a torch.Generator (seeded: "
            "torch.Generator().manual_seed(0)) or None"
        )
    return generator


def _described(shape: tuple) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def checked_shape(name: str, value: Any, item: tuple, kind: str, *, one: bool, taker: str) -> Any:
    """``value``, a tensor or numpy array of numbers holding one ``item`` (with ``one``) or a
    batch of them (None: a size of any length), else one line naming ``name`` and what
    ``taker`` takes; numpy arrays are not copied yet: their size is checked first."""
    shape = item if one else (None, *item)
    expected = ("N",) * (not one) + tuple("D" if size is None else size for size in item)
    takes = f"{taker} takes {kind} {_described(expected)}"
    if isinstance(value, np.ndarray) and value.dtype.kind not in "biufc":
        raise ValueError(f"{name}: a numpy array of dtype {value.dtype}; {takes}")
    if not isinstance(value, np.ndarray) and not torch.is_tensor(value):
        raise ValueError(
            f"{name} of type {type(value).__name__}: {takes}, as a tensor or numpy array"
        )
    if len(value.shape) != len(shape) or any(
        size not in (None, given) for size, given in zip(shape, value.shape, strict=True)
    ):
        raise ValueError(f"{name} of shape {tuple(value.shape)}: {takes}")
    if torch.is_tensor(value) and value.is_meta:
        raise ValueError(f"{name} on the meta device hold no values: {takes}")
    if torch.is_tensor(value) and value.layout != torch.strided:  # no min, max or conv
        raise ValueError(f"{name}: a tensor of layout {value.layout}; {takes}, dense (.to_dense())")
    return value


def unit_images(name: str, images: torch.Tensor, device: torch.device, taker: str) -> torch.Tensor:
    """``images`` (of a checked shape) as float32 in [0, 1] on ``device``: uint8 in [0, 255]
    or floats in [0, 1] (``image_values``), else one line naming ``name``."""
    images = image_values(name, images, taker)  # int64 0-255 or [-1, 1] floats: nonsense codes
    if images.dtype == torch.uint8:
        return normalize(images.to(device), "unit")
    return images.to(device, torch.float32)


def real_codes(name: str, codes: torch.Tensor, device: torch.device, taker: str) -> torch.Tensor:
    """``codes`` (of a checked shape) as float32 on ``device``, finite real numbers, else one
    line naming ``name``."""
    if codes.is_complex() or codes.dtype == torch.bool:
        raise ValueError(f"{name} of dtype {codes.dtype}: {taker} takes real numbers")
    codes = codes.to(device, torch.float32)  # integer or float64 codes: the same values
    if not bool(codes.isfinite().all()):  # they would come out as images of NaN
        raise ValueError(f"{name} holding NaN or infinity: {taker} takes finite codes")
    return codes


def _as_tensor(value: Any) -> torch.Tensor:
    """A checked tensor, or a numpy array as a tensor of its own (negative strides and
    read-only views copied)."""
    return torch.from_numpy(np.array(value)) if isinstance(value, np.ndarray) else value


def _device_of(task: Any) -> torch.device:
    """Where ``task``'s networks are: its ``device``, else that of its first weight."""
    device = getattr(task, "device", None)
    if device is None:
        weights = (p for network in task.networks.values() for p in network.parameters())
        device = next(weights, torch.empty(())).device
    return torch.device(device)


def taken_codes(task: Any, method: str, z: Any, name: str = "z") -> torch.Tensor:
    """``z`` for ``task.method``: codes (N, latent_dim) of finite real numbers, as float32 on
    the task's device."""
    taker = f"{type(task).__name__}.{method}"
    width = getattr(task, "latent_dim", None)  # a task of one's own may not keep it
    z = checked_shape(name, z, (width,), "codes", one=False, taker=taker)
    return real_codes(name, _as_tensor(z), _device_of(task), taker)


def taken_images(task: Any, method: str, x: Any, name: str = "x") -> torch.Tensor:
    """``x`` for ``task.method``: images (N, C, H, W) of the task's ``image_shape`` (where it
    has one), uint8 in [0, 255] or floats in [0, 1], as float32 in [0, 1] on its device."""
    taker = f"{type(task).__name__}.{method}"
    shape = getattr(task, "image_shape", None)  # a task of one's own may not keep it
    if shape is None and getattr(x, "ndim", 4) != 4:
        raise ValueError(f"{name} of shape {tuple(x.shape)}: {taker} takes images (N, C, H, W)")
    item = (None, None, None) if shape is None else tuple(shape)
    x = checked_shape(name, x, item, "images", one=False, taker=taker)
    return unit_images(name, _as_tensor(x), _device_of(task), taker)
