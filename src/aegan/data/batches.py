"""Mini-batches drawn from a device-resident uint8 tensor, and their normalisation.

The order of an epoch is a pure function of ``(seed, epoch)``, so a resumed run sees
the same batches as an uninterrupted one, and each distributed rank takes its own
shard of the same permutation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from aegan.data.sources import ImageData


def normalize(images_u8: torch.Tensor, pixel_range: str) -> torch.Tensor:
    """uint8 ``(B, C, H, W)`` -> float32 in ``[0, 1]`` ("unit") or ``[-1, 1]`` ("symmetric")."""
    x = images_u8.float()
    if pixel_range == "unit":
        return x.div_(255.0)
    if pixel_range == "symmetric":
        return x.div_(127.5).sub_(1.0)
    raise ValueError(f"pixel_range={pixel_range!r}: allowed are 'unit' and 'symmetric'")


def normalized_batches(
    images_u8: torch.Tensor, batch_size: int, pixel_range: str
) -> Iterator[torch.Tensor]:
    """``images_u8`` (N, C, H, W) in order, ``batch_size`` at a time, through ``normalize``
    (the last batch may be smaller): what validation and evaluation read."""
    for i in range(0, len(images_u8), batch_size):
        yield normalize(images_u8[i : i + batch_size], pixel_range)


def denormalize(x: torch.Tensor, pixel_range: str) -> torch.Tensor:
    """Inverse of ``normalize`` to float ``[0, 1]`` (for image grids and metrics)."""
    return x.clamp(0, 1) if pixel_range == "unit" else x.add(1.0).div(2.0).clamp(0, 1)


def bernoulli_images(
    images_u8: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Each pixel 255 with probability its intensity / 255, else 0 (uint8, same shape)."""
    uniform = torch.rand(
        images_u8.shape, generator=generator, device="cpu" if generator else images_u8.device
    )
    return (uniform.to(images_u8.device) * 255 < images_u8).to(torch.uint8) * 255


class DeviceBatches:
    """Shuffled batches of ``images`` (uint8 ``(N, C, H, W)``) on their device.

    Images only: every task trains without labels, and gathering them cost each step a
    kernel. ``binarize``: each batch drawn as Bernoulli pixels (``data.binarize=dynamic``).
    """

    def __init__(
        self,
        images: torch.Tensor,
        *,
        batch_size: int,
        shuffle: bool = True,
        drop_last: bool = True,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        binarize: bool = False,
        labels: torch.Tensor | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"data.batch_size={batch_size} must be a positive integer")
        self.images = images
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.binarize = binarize  # each batch drawn as Bernoulli pixels (the global RNG)
        self.labels = labels  # given: batches are (images, labels) pairs
        self.per_rank = len(images) // world_size if world_size > 1 else len(images)

    def __len__(self) -> int:
        """Batches per epoch on this rank."""
        if self.drop_last:
            return self.per_rank // self.batch_size
        return -(-self.per_rank // self.batch_size)

    def _order(self, epoch: int) -> torch.Tensor:
        n = len(self.images)
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            order = torch.randperm(n, generator=generator)
        else:
            order = torch.arange(n)
        if self.world_size > 1:  # rank r takes every world_size-th index: disjoint shards
            order = order[self.rank : self.per_rank * self.world_size : self.world_size]
        return order.to(self.images.device, non_blocking=True)

    def epoch(self, epoch: int, start_batch: int = 0) -> Iterator:
        """Yield uint8 ``(B, C, H, W)`` batches (or (images, labels) pairs) for one epoch,
        from batch ``start_batch`` on."""
        order = self._order(epoch)
        for b in range(start_batch, len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            batch = self.images.index_select(0, idx)  # cheaper than images[idx] on the CPU
            if self.binarize:
                batch = bernoulli_images(batch)
            yield batch if self.labels is None else (batch, self.labels.index_select(0, idx))

    def __iter__(self) -> Iterator[torch.Tensor]:
        return self.epoch(0)


def binarized(data: ImageData, how: str, *, seed: int) -> ImageData:
    """The binarised-likelihood protocol: each grey pixel becomes 0 or 255 with probability
    its intensity, every split drawn once by a seeded generator. ``dynamic`` also keeps the
    grey training images for the training batches, drawn again at every step
    (``DeviceBatches(binarize=True)``), as Burda et al. (2016) train; the metrics still read
    the one draw, so the floors, PCA and the probe compare binary images with binary ones."""
    if how == "none":
        return data
    generator = torch.Generator().manual_seed(seed)
    if how == "dynamic":
        data.train_intensities = data.train_images
    for split in ("val_images", "test_images", "train_images"):
        setattr(data, split, bernoulli_images(getattr(data, split), generator))
    data.binarized = True
    return data
