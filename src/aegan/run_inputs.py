"""What ``Run``'s methods take from a notebook, checked in one place.

Each check names the argument as the caller typed it (``images``, ``codes``, ``z``, ``a``,
``n``, ``seed``...), the value, and what is allowed, in one line: a mistake in a notebook
cell reads as the user's own words, never as a torch traceback from deep in a network or an
allocation that fails after minutes.
"""

from __future__ import annotations

import contextlib
import operator
from typing import Any

import numpy as np
import torch

SEED_LIMIT = 2**64  # torch.Generator.manual_seed takes 0 .. 2**64 - 1 (negatives alias these)


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


def seed(value: Any) -> int:
    """A seed torch's generator takes as it is: 0 <= seed < 2**64."""
    return integer(
        "seed", value, low=0, high=SEED_LIMIT - 1,
        meaning="a seed must be an integer from 0 to 2**64 - 1",
    )  # fmt: skip
