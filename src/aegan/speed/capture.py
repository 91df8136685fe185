"""``trainer.capture_step``: a task's whole training iteration as one CUDA graph.

A small network's step on a GPU is bound by the host: hundreds of kernel launches, each
with Python and dispatcher work, for a few milliseconds of arithmetic. Captured once with
``torch.cuda.graph`` (PyTorch's "whole-network capture"), the iteration (normalisation,
forward, losses, backward, optimizer updates, EMA) replays as one launch per batch.

The sequence (``CapturedStep``):

1. ``WARMUP_STEPS`` ordinary steps on a side stream: lazy optimizer state, cuDNN plans and
   autograd's streams exist before the capture (and these batches train as usual);
2. one capture, with the batch copied into a static buffer; nothing runs during a capture,
   so the graph is replayed at once for that batch;
3. per later batch: copy it into the buffer and replay; Python code in the step does not
   run again, so a task keeps what a replay must advance on the device (the EMA's clock).

What a replay repeats is fixed at capture: a batch of the same shape (``drop_last``), the
same branches, learning rates and loss scale. Hence the refusals of
``aegan.speed.check_switches``: fp16's loss scaler (it reads its state on the host),
torchrun, CUDA graphs of ``torch.compile``'s own, and what a task lists in its ``limits``
(the GAN's alternating steps, ``n_critic`` > 1).
Optimizers are switched to ``capturable`` (their step counters live on the GPU).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

WARMUP_STEPS = 3  # eager steps before the capture (PyTorch's notes use 3 for DDP too)


class CapturedStep:
    """``train(images_u8)`` replayed from one CUDA graph after a few eager steps.

    Returns the step's scalars as the graph's static outputs: the next call overwrites
    them, so the caller copies them first (``StepAccumulator.add`` does). ``train`` must
    clear the gradients to None first: they are then allocated in the graph's pool.
    """

    def __init__(
        self, optimizers: list[torch.optim.Optimizer], train: Callable[[torch.Tensor], Any]
    ) -> None:
        self.train = train
        self.eager_steps = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static_images: torch.Tensor | None = None  # (B, C, H, W) uint8, the graph's input
        self.static_stats: dict[str, torch.Tensor] = {}
        self.side_stream: torch.cuda.Stream | None = None
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                group["capturable"] = True  # step counters on the GPU, no host reads in step()

    def __call__(self, images_u8: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.graph is None and self.eager_steps < WARMUP_STEPS:
            self.eager_steps += 1
            return self._on_side_stream(lambda: self.train(images_u8))
        if self.graph is None:
            self._capture(images_u8)
            self.graph.replay()  # the capture ran nothing: this is the step for this batch
            return self.static_stats
        if images_u8.shape != self.static_images.shape:
            raise ValueError(
                f"trainer.capture_step: batch of shape {tuple(images_u8.shape)} after a capture "
                f"of {tuple(self.static_images.shape)}; batches must keep one shape (drop_last)"
            )
        self.static_images.copy_(images_u8)
        self.graph.replay()
        return self.static_stats

    def _on_side_stream(self, work):
        """Run ``work()`` on the side stream, ordered after and before the current stream's work."""
        if self.side_stream is None:
            self.side_stream = torch.cuda.Stream()
        current = torch.cuda.current_stream()
        self.side_stream.wait_stream(current)
        with torch.cuda.stream(self.side_stream):
            out = work()
        current.wait_stream(self.side_stream)
        return out

    def _capture(self, images_u8: torch.Tensor) -> None:
        self.static_images = images_u8.clone()
        torch.cuda.synchronize()
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.static_stats = self.train(self.static_images)
