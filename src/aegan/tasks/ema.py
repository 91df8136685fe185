"""An exponential moving average of a network's weights, for samples and metrics."""

from __future__ import annotations

import copy
from itertools import chain

import torch
from torch import nn


def ema_update_(
    averaged: list[torch.Tensor], live: list[torch.Tensor], clock: torch.Tensor, max_decay: float
) -> None:
    """averaged <- decay * averaged + (1 - decay) * live, in place, with decay =
    min(max_decay, (1 + t) / (10 + t)) at t = ``clock`` (0-d, on the device); then t += 1."""
    decay = ((1 + clock) / (10 + clock)).clamp(max=max_decay)  # 0-d, on the device
    # a weight per tensor: one 0-d tensor as the weight would be read on the host
    torch._foreach_lerp_(averaged, live, [1 - decay] * len(averaged))
    clock.add_(1)


class ExponentialMovingAverage:
    """A frozen copy of a network (``network``, in eval mode) that follows its weights.

    The decay ramps up as min(decay, (1 + t) / (10 + t)) over the updates t (TensorFlow's
    ExponentialMovingAverage rule), so that a short run's average is not mostly the random
    init (0.999^860 = 0.42 after one Fashion-MNIST epoch). t lives on the device, so a step
    replayed from a CUDA graph ramps it too; BatchNorm's integer counters are copied.
    """

    def __init__(self, live: nn.Module, decay: float) -> None:
        self.decay = decay
        self.network = copy.deepcopy(live).requires_grad_(False).eval()
        device = next(live.parameters()).device
        self.clock = torch.zeros((), device=device)  # updates done, as a float
        self._tensors: tuple[list[torch.Tensor], ...] | None = None

    def _pairs(self, live: nn.Module) -> tuple[list[torch.Tensor], ...]:
        """(averaged, live, copied, live) tensor lists, made once: on the first update,
        after channels_last and a restore have changed the tensors in place."""
        if self._tensors is None:
            pairs = zip(
                chain(self.network.parameters(), self.network.buffers()),
                chain(live.parameters(), live.buffers()),
                strict=True,
            )
            averaged, copied = [], []
            for mine, theirs in pairs:  # num_batches_tracked is copied, not averaged
                (averaged if mine.is_floating_point() else copied).append((mine, theirs))
            self._tensors = (
                [m for m, _ in averaged], [t for _, t in averaged],
                [m for m, _ in copied], [t for _, t in copied],
            )  # fmt: skip
        return self._tensors

    @torch.no_grad()
    def update(self, live: nn.Module) -> None:
        """One step of the average towards ``live``'s current weights and buffers."""
        mine, theirs, mine_copied, theirs_copied = self._pairs(live)
        ema_update_(mine, theirs, self.clock, self.decay)
        if mine_copied:
            torch._foreach_copy_(mine_copied, theirs_copied)

    def updates(self) -> int:
        """How many updates were made (a host read: for checkpoints, not the step)."""
        return int(self.clock.item())

    def set_updates(self, count: int) -> None:
        self.clock.fill_(count)
