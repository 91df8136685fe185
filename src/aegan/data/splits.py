"""Hold images out of a data set by a seeded draw: plainly, or class by class."""

from __future__ import annotations

import heapq

import numpy as np
import torch

from aegan.errors import ConfigError

Split = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def split_train_val(
    images: torch.Tensor, labels: torch.Tensor, *, val_size: int, seed: int,
    key: str = "data.val_size",
) -> Split:  # fmt: skip
    """Hold ``val_size`` images out of the training set by a fixed permutation; ``key`` is
    the setting named when they are not fewer than the images."""
    _check_size(len(images), val_size, key)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    val_idx, train_idx = order[:val_size], order[val_size:]
    return images[train_idx], labels[train_idx], images[val_idx], labels[val_idx]


def stratified_split(
    images: torch.Tensor, labels: torch.Tensor, *, size: int, seed: int, key: str
) -> Split:
    """(kept images, labels, held-out images, labels): ``size`` images held out class by
    class, in proportion to each class's images and, where ``size`` allows, at least one
    of each class that has two; both parts in the order of a seeded permutation.

    A plain draw of a few images from a folder of unequal classes often holds one class
    out only, and a probe or classifier measured there reports on that class alone.
    """
    _check_size(len(images), size, key)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    in_order = labels[order].numpy()
    classes, counts = np.unique(in_order, return_counts=True)
    quota = np.zeros(int(classes.max(initial=0)) + 1, dtype=np.int64)
    quota[classes] = _quotas(counts.tolist(), size)
    held = _rank_in_class(in_order) < quota[in_order]
    held_idx, kept_idx = order[torch.from_numpy(held)], order[torch.from_numpy(~held)]
    return images[kept_idx], labels[kept_idx], images[held_idx], labels[held_idx]


def _check_size(total: int, size: int, key: str) -> None:
    if not 0 <= size < total:
        raise ConfigError(
            f"{key}={size} is not allowed: the data set has {total} images there, so at most "
            f"{total - 1}"
        )


def _quotas(counts: list[int], size: int) -> list[int]:
    """How many of each class to hold out, ``size`` in all: first one of each class (the
    largest classes first when ``size`` is smaller than their number), then to the class
    furthest below its share ``size * count / total``; a class keeps one image where it can."""
    total, quota, held = sum(counts), [0] * len(counts), 0
    for keep in (1, 0):  # leave each class one kept image, unless the size needs it too
        heap = [(quota[c] > 0, quota[c] - size * n / total, c) for c, n in enumerate(counts)]
        heap = [item for item in heap if quota[item[2]] < counts[item[2]] - keep]
        heapq.heapify(heap)
        while heap and held < size:
            _, _, c = heapq.heappop(heap)
            quota[c], held = quota[c] + 1, held + 1
            if quota[c] < counts[c] - keep:
                heapq.heappush(heap, (True, quota[c] - size * counts[c] / total, c))
    return quota


def _rank_in_class(labels: np.ndarray) -> np.ndarray:
    """For each position, how many earlier positions hold the same label."""
    by_label = np.argsort(labels, kind="stable")
    sorted_labels = labels[by_label]
    first = np.searchsorted(sorted_labels, sorted_labels, side="left")
    rank = np.empty(len(labels), dtype=np.int64)
    rank[by_label] = np.arange(len(labels)) - first
    return rank
