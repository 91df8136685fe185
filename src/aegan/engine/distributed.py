"""Multi-process training under ``torchrun``: process group, device per rank, DDP wrapping.

Each rank holds the whole (small) data set on its device and draws its own shard of
every epoch's permutation (``DeviceBatches(rank=, world_size=)``); gradients are
averaged by ``DistributedDataParallel``; only rank 0 logs and writes checkpoints, which
hold the unwrapped modules and so load in a single process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from aegan.engine.amp import resolve_device


@dataclass(frozen=True)
class Distributed:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block alone, then the others: one download or ``apt-get``, not
        one per rank into the same folder. If rank 0 fails, torchrun stops the others."""
        if self.world_size > 1 and not self.is_main:
            dist.barrier()
        yield
        if self.world_size > 1 and self.is_main:
            dist.barrier()

    def wrap(self, module: nn.Module) -> nn.Module:
        """DDP around ``module`` when several processes train; the module itself otherwise."""
        if self.world_size == 1:
            return module
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=device_ids)


def init_distributed(device_name: str) -> Distributed:
    """Read torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK) and join the group.

    Without torchrun this is a single process on ``resolve_device(device_name)``.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    device = resolve_device(device_name)
    if world_size == 1:
        return Distributed(0, 1, device)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Distributed(rank, world_size, device)


def shutdown_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
