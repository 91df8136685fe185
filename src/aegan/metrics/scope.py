"""How the final metrics are computed (``Settings``: ``evaluate.*``, or ``aegan.evaluate``'s
command line) and what a metric's check sees of the run before any data is read (``Scope``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from aegan.errors import ConfigError, refused_value

# evaluate.KEY: the integers it may be, (lowest, highest); iwae_images may also be null
EVALUATION_NUMBERS = {"samples": (10, 10**7), "iwae_samples": (1, 10**6),
                      "seed": (0, 2**63 - 1), "iwae_images": (1, 10**7)}  # fmt: skip


PROBE_MOST = 10**7  # training codes the probe is fitted on


def _probe_count(value: Any) -> bool:
    return type(value) is int and 1 <= value <= PROBE_MOST


def _path(value: Any) -> bool:
    return isinstance(value, (str, PathLike)) and bool(str(value).strip())


@dataclass(frozen=True)
class Settings:
    """How the final metrics are computed (``evaluate.*`` in the config); a number out of
    ``EVALUATION_NUMBERS`` is one line naming it (a notebook's iwae_samples=0 was a
    ZeroDivisionError inside the bound, samples=-1 taken without a word)."""

    samples: int = 10000
    cache_dir: str | Path = "~/.cache/aegan"
    seed: int = 0
    probe_train: int = 10000
    inception_weights: str | None = None
    progress: bool = True
    iwae_samples: int = 1000  # k, the importance samples per image of the IWAE bound
    iwae_images: int | None = None  # test images it is computed on; None: all

    def __post_init__(self) -> None:
        for name, (low, high) in EVALUATION_NUMBERS.items():
            value = getattr(self, name)
            if value is None and name == "iwae_images":  # all the test images
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(
                    f"{name}={refused_value(value)} is not allowed: it must be an integer in "
                    f"[{low}, {high}]" + (", or None for all" if name == "iwae_images" else "")
                )
        for name, allowed, fits in (
            ("probe_train", f"an integer in [1, {PROBE_MOST}]", _probe_count),
            ("progress", "True or False", lambda value: isinstance(value, bool)),
            ("cache_dir", "a folder's path", _path),
            ("inception_weights", "a file's path, or None", lambda v: v is None or _path(v)),
        ):  # probe_train=-1 fitted the probe on all but one image, cache_dir=None failed late
            if not fits(getattr(self, name)):
                raise ConfigError(
                    f"{name}={refused_value(getattr(self, name))} is not allowed: it must be "
                    f"{allowed}"
                )

    @classmethod
    def of(cls, evaluate_cfg: Any) -> Settings:
        """The settings of ``evaluate.*`` (training) or of ``aegan.evaluate``'s command line."""
        return cls(
            samples=evaluate_cfg.samples, cache_dir=evaluate_cfg.cache_dir,
            inception_weights=evaluate_cfg.get("inception_weights"),
            iwae_samples=evaluate_cfg.get("iwae_samples", 1000),
            iwae_images=evaluate_cfg.get("iwae_images"), seed=evaluate_cfg.get("seed", 0),
        )  # fmt: skip


@dataclass(frozen=True)
class Scope:
    """What a metric's check sees before any data is read."""

    settings: Settings
    image_shape: Sequence[int]  # (C, H, W)
    test_images: int | None  # the test split's size; None: not known
    key: str = "evaluate.metrics"  # the list of metrics; its section names the settings
    train_images: int | None = None  # the training split's size (a fifth is the floor's)
    classes: int | None = None  # classes in the data; None: not known
    source: str = "the data"  # what sets the sizes, for messages
    origin: str = "the data"  # where the images come from, for messages

    @classmethod
    def of_data(cls, settings: Settings, data: Any, key: str = "metrics") -> Scope:
        """The scope of data already read (``aegan.data.ImageData``)."""
        return cls(settings, tuple(data.test_images.shape[1:]), len(data.test_images), key,
                   len(data.train_images), len(data.classes), f"data={data.name}",
                   f"data={data.name} ({data.source})")  # fmt: skip

    def setting(self, name: str) -> str:
        """The full key of the setting ``name``: evaluate.NAME in training, NAME else."""
        return self.key[: -len("metrics")] + name
