"""What a final metric needs of the data, checked before any image is read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aegan.errors import ConfigError


@dataclass(frozen=True)
class Needs:
    """What a metric needs of the data: ``test`` test images (``why``); ``paired``: as many
    of each set of ``Evaluation.count`` (a fifth of the training split is the floor's);
    ``labels``: two or more classes (the domain classifier, a probe)."""

    test: int = 1
    why: str = "its mean over the test images"
    paired: bool = False
    labels: bool = False


def check_data_sizes(name: str, needs: Needs, scope: Any) -> None:
    """``ConfigError`` where the splits of ``scope`` (``registry.Scope``) are too small for
    the metric ``name``, which ``needs`` them."""
    other = " or evaluate.at_end=false" if scope.key == "evaluate.metrics" else ""
    if scope.test_images is not None and scope.test_images < needs.test:
        raise ConfigError(
            f"data.test_size={scope.test_images} is too small for the final metric {name}: it "
            f"needs at least {_images(needs.test)} ({needs.why}); use data.test_size >= "
            f"{needs.test}, {scope.key} without {name}{other}"
        )
    floor = None if scope.train_images is None else scope.train_images // 5
    if needs.paired and floor is not None and floor < needs.test:
        raise ConfigError(
            f"{scope.source} leaves {scope.train_images} training images, a fifth of which "
            f"({floor}) are the real floor of the final metric {name}: it needs at least "
            f"{needs.test} ({needs.why}); use at least {5 * needs.test} training images "
            f"(data.subset, data.val_size), {scope.key} without {name}{other}"
        )


def _images(count: int) -> str:
    return f"{count} test image{'s' if count != 1 else ''}"
