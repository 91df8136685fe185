"""What the public metric functions take from a caller (a notebook, a script), checked in one
place: images, features, class labels, counts and devices. Each refusal is one ``ValueError`` line
naming the argument, what it was and what the function takes: a wrong scale, shape, dtype or
count gave a figure without a word (floats in [0, 255] a PSNR of -43 dB, float labels cut
to integers, NaN features a precision of 0) or failed deep in torch (device='bogus').
"""

from __future__ import annotations

import contextlib
import math
import operator
from typing import Any

import numpy as np
import torch

from aegan.contract import RANGE_SLACK
from aegan.engine.device import resolve_device


def _given(value: Any) -> str:
    """What ``value`` was, as a refusal names it: its shape, else its type."""
    if torch.is_tensor(value):
        return f"of shape {tuple(value.shape)}"
    return f"of type {type(value).__name__}"


def tensor(name: str, value: Any, taker: str, takes: str) -> torch.Tensor:
    """``value`` detached if it is a dense tensor holding values, else one line: ``taker``
    (a function's name) ``takes`` (what, in words)."""
    if not torch.is_tensor(value):  # numpy arrays too: torch.from_numpy(array) is one call
        raise ValueError(f"{name} {_given(value)}: {taker} takes {takes}, as a tensor")
    if value.is_meta:
        raise ValueError(f"{name} on the meta device holds no values: {taker} takes {takes}")
    if value.layout != torch.strided:
        raise ValueError(f"{name} of layout {value.layout}: {taker} takes {takes}, dense")
    return value.detach()


def integer(name: str, value: Any, *, low: int, high: int | None = None, meaning: str) -> int:
    """``value`` as an int in [low, high]: Python, numpy or 0-d integer tensor values; a bool,
    a float (even 2.0) or a string is refused, as is anything out of range."""
    number = None  # True is no count, though Python's int takes it as 1
    if not isinstance(value, (bool, np.bool_)) and getattr(value, "dtype", None) != torch.bool:
        with contextlib.suppress(TypeError):  # what is not an integer in Python's own sense
            number = operator.index(value)
    if number is None or number < low or (high is not None and number > high):
        raise ValueError(f"{name}={value!r:.40}: {meaning}")
    return number


def device(name: str, value: Any) -> torch.device:
    """``value`` as the device to compute on: auto, cpu, cuda, cuda:N or a ``torch.device``
    of these, checked as ``trainer.device`` is (the card there), in a line naming ``name``."""
    return resolve_device(value, key=name)


def number(name: str, value: Any, *, low: float, meaning: str, strict: bool = True) -> float:
    """``value`` as a finite float above ``low`` (at or above it where not ``strict``)."""
    given = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        given = float(value)
    if given is None or not math.isfinite(given) or given < low or (strict and given == low):
        raise ValueError(f"{name}={value!r:.40}: {meaning}")
    return given


def images(name: str, value: Any, taker: str, *, data_range: float = 1.0) -> torch.Tensor:
    """``value`` as given if it holds images (N, C, H, W), N >= 1, of ``image_values``'s
    scale, else one line naming ``name``. Nothing is copied: a training split is checked whole."""
    shape = "images (N, C, H, W), N >= 1"
    takes = f"{shape}, {_scale(data_range)}"
    checked = tensor(name, value, taker, takes)
    if checked.dim() != 4 or not len(checked):
        raise ValueError(f"{name} {_given(checked)}: {taker} takes {takes}")
    return image_values(name, checked, taker, shape=shape, data_range=data_range)


def _scale(data_range: float) -> str:
    return f"uint8 in [0, 255] or floats in [0, {data_range:g}]"


def image_values(
    name: str, value: torch.Tensor, taker: str, *, shape: str = "", data_range: float = 1.0
) -> torch.Tensor:
    """``value``, a tensor of images of a shape already checked, as given if it is uint8 in
    [0, 255] or floats in [0, ``data_range``] (a hair outside: ``RANGE_SLACK``, a decoder's
    rounding), else one line naming ``name``: ``taker`` takes ``shape`` (its words for the
    images' shape, or none) of that scale."""
    takes = ", ".join(filter(None, [shape, _scale(data_range)]))
    if value.dtype == torch.uint8:
        return value
    if not value.is_floating_point():  # int64 0-255, bool or complex: no scale to read
        raise ValueError(f"{name} of dtype {value.dtype}: {taker} takes {takes}")
    if not value.numel():
        return value
    low, high = (bound.item() for bound in value.aminmax())
    if not (math.isfinite(low) and math.isfinite(high)):  # a NaN anywhere makes both NaN
        raise ValueError(f"{name} holding NaN or infinity: {taker} takes {takes}")
    slack = RANGE_SLACK * data_range
    if not (low >= -slack and high <= data_range + slack):
        raise ValueError(f"{name} with values in [{low:.4g}, {high:.4g}]: {taker} takes {takes}")
    return value


def unit_images(name: str, value: Any, taker: str, *, data_range: float = 1.0) -> torch.Tensor:
    """``images`` as float64 in [0, 1]: uint8 / 255, floats / ``data_range``, clamped."""
    checked = images(name, value, taker, data_range=data_range)
    if checked.dtype == torch.uint8:
        return checked.double() / 255
    return (checked.double() / data_range).clamp(0, 1)


def image_pair(x: Any, y: Any, taker: str, *, data_range: float = 1.0) -> tuple[torch.Tensor, ...]:
    """``x`` and ``y``, images of one shape (``unit_images``), as float64 in [0, 1] on ``x``'s
    device."""
    data_range = number(
        "data_range", data_range, low=0, meaning="the largest value of float images, a number > 0"
    )
    x = unit_images("x", x, taker, data_range=data_range)
    y = unit_images("y", y, taker, data_range=data_range)
    if x.shape != y.shape:
        raise ValueError(
            f"x of shape {tuple(x.shape)} and y of shape {tuple(y.shape)}: {taker} takes two "
            "sets of images of one shape, image i of x against image i of y"
        )
    return x, y.to(x.device)


def features(name: str, value: Any, taker: str, *, least: int = 1, width: int | None = None):
    """``value``, rows of real finite numbers (N, D), N >= ``least``, D >= 1 (``width``
    where given), as float64; else one line naming ``name``."""
    wide = "D" if width is None else str(width)
    takes = f"features ({'N' if least <= 1 else f'N >= {least}'}, {wide}) of finite real numbers"
    feats = tensor(name, value, taker, takes)
    if feats.dim() != 2 or len(feats) < least or not feats.shape[1]:
        raise ValueError(f"{name} {_given(feats)}: {taker} takes {takes}")
    if width is not None and feats.shape[1] != width:
        raise ValueError(f"{name} {_given(feats)}: {taker} takes {takes}, as wide as the first")
    if feats.is_complex() or feats.dtype == torch.bool:
        raise ValueError(f"{name} of dtype {feats.dtype}: {taker} takes {takes}")
    feats = feats.double()
    if not bool(feats.isfinite().all()):
        raise ValueError(f"{name} holding NaN or infinity: {taker} takes {takes}")
    return feats


def feature_pair(a: Any, b: Any, names: tuple[str, str], taker: str, *, least: int = 1):
    """Two sets of features of one width (``features``), float64 on the first's device."""
    first = features(names[0], a, taker, least=least)
    second = features(names[1], b, taker, least=least, width=first.shape[1])
    return first, second.to(first.device)


def labels(name: str, value: Any, taker: str, *, classes: int | None = None) -> torch.Tensor:
    """``value``, class ids (N,) of an integer dtype, each in [0, classes) (>= 0 where
    ``classes`` is None), as int64 on the CPU; else one line naming ``name``."""
    within = "each >= 0" if classes is None else f"each in [0, {classes})"
    takes = f"class ids (N,) of an integer dtype, {within}"
    ids = tensor(name, value, taker, takes)
    if ids.dim() != 1:
        raise ValueError(f"{name} {_given(ids)}: {taker} takes {takes}")
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise ValueError(f"{name} of dtype {ids.dtype}: {taker} takes {takes}")
    ids = ids.long().cpu()
    if len(ids) and (ids.min() < 0 or (classes is not None and ids.max() >= classes)):
        low, high = ids.min().item(), ids.max().item()
        raise ValueError(f"{name} with ids from {low} to {high}: {taker} takes {takes}")
    return ids


def labelled(name: str, ids: torch.Tensor, rows: torch.Tensor, rows_name: str, taker: str):
    """``ids`` if there is one per row of ``rows``, else one line naming both."""
    if len(ids) != len(rows):
        raise ValueError(
            f"{name} of shape {tuple(ids.shape)} for {rows_name} of shape "
            f"{tuple(rows.shape)}: {taker} takes one class id per row"
        )
    return ids
