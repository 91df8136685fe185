"""What a final metric needs of the data, checked before any image is read."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aegan.errors import ConfigError
from aegan.metrics.classifier import DEFAULT_WIDTHS
from aegan.metrics.scope import Scope

log = logging.getLogger(__name__)
SMALLEST_IMAGE = 2 ** len(DEFAULT_WIDTHS)  # px a side: one after the classifier's poolings
WHY_LABELS = (
    "a probe, or the domain classifier in whose features FD, KID, PRDC and the class "
    "histogram are measured: on one class they score 1.0 or measure nothing"
)


@dataclass(frozen=True)
class Needs:
    """What a metric needs of the data: ``test`` test images (``why``); ``paired``: as many
    of each set of ``Evaluation.count`` (a fifth of the training split is the floor's);
    ``labels``: two or more classes (the domain classifier, a probe); ``labelled_part``:
    the figure that does, left out on one class; ``classified``: images the domain
    classifier can take, at least ``SMALLEST_IMAGE`` a side."""

    test: int = 1
    why: str = "its mean over the test images"
    paired: bool = False
    labels: bool = False
    labelled_part: str = ""
    classified: bool = False


def check_data_sizes(name: str, needs: Needs, scope: Scope) -> None:
    """``ConfigError`` where the splits of ``scope`` are too small for the metric ``name``,
    which ``needs`` them."""
    other = " or evaluate.at_end=false" if scope.key == "evaluate.metrics" else ""
    side = min(int(s) for s in scope.image_shape[-2:])
    if needs.classified and side < SMALLEST_IMAGE:
        raise ConfigError(
            f"data.image_size={side} is too small for the final metric {name}: the domain "
            f"classifier it is measured by halves an image {len(DEFAULT_WIDTHS)} times; use "
            f"data.image_size >= {SMALLEST_IMAGE}, {scope.key} without {name}{other}"
        )
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


def check_classes(
    task: Any, names: Sequence[str], needs: Mapping[str, Needs], scope: Scope, *, explicit: bool
) -> tuple[str, ...]:  # fmt: skip
    """``names`` less those that need class labels where ``scope`` holds one class (a probe
    or a classifier would score 1.0): refused when asked for by name or when none would be
    left, said in one line else."""
    labelled = [name for name in names if needs[name].labels]
    parts = [needs[name].labelled_part for name in names if needs[name].labelled_part]
    if scope.classes is None or scope.classes >= 2 or not labelled + parts:
        return tuple(names)
    subject = ", ".join(labelled + parts)
    verb = "needs" if len(labelled + parts) == 1 else "need"
    why = f"{scope.origin} holds one class, and {subject} {verb} class labels ({WHY_LABELS})"
    rest = tuple(name for name in names if name not in labelled)
    if explicit and labelled:
        raise ConfigError(
            f"{scope.key}=[{', '.join(names)}]: {why}; choose other metrics, or data with a "
            "sub-folder per class"
        )
    if not rest:
        other = "evaluate.at_end=false" if scope.key == "evaluate.metrics" else "other metrics"
        raise ConfigError(
            f"{scope.key}=null: {scope.origin} holds one class, and all of "
            f"{type(task).__name__}'s final metrics ({subject}) need class labels "
            f"({WHY_LABELS}); use {other}, or data with a sub-folder per class"
        )
    log.warning("%s: left out of the final evaluation", why)
    return rest


def _images(count: int) -> str:
    return f"{count} test image{'s' if count != 1 else ''}"
