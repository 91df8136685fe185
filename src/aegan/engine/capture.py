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
3. per later batch: copy it into the buffer, replay, then ``task.after_replay()`` advances
   the task's Python counters, which a replay does not run.

What a replay repeats is fixed at capture: a batch of the same shape (``drop_last``), the
same branches, learning rates and loss scale. Hence the refusals of
``check_step_capture``: fp16's loss scaler (it reads its state on the host), the GAN's
alternating steps (``n_critic`` > 1), torchrun, and CUDA graphs of ``torch.compile``'s own.
Optimizers are switched to ``capturable`` (their step counters live on the GPU).
"""

from __future__ import annotations

import os
from typing import Any

import torch

from aegan.engine.amp import ConfigError

WARMUP_STEPS = 3  # eager steps before the capture (PyTorch's notes use 3 for DDP too)


def check_step_capture(trainer_cfg: Any, model_cfg: Any, task_class: type) -> None:
    """Raise ``ConfigError`` when ``trainer.capture_step=true`` cannot work with these settings."""
    if not trainer_cfg.capture_step:
        return

    def refuse(reason: str, fix: str) -> None:
        raise ConfigError(f"trainer.capture_step=true {reason}; {fix}")

    device = str(trainer_cfg.device)
    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        refuse(f"needs CUDA (it captures a CUDA graph), and trainer.device={device} runs on the "
               "CPU here", "use a CUDA machine, or capture_step=false")  # fmt: skip
    if trainer_cfg.precision == "fp16":
        refuse("does not support fp16: its loss scaler runs on the host", "use precision=bf16")
    if trainer_cfg.on_nonfinite == "skip":
        refuse("does not support on_nonfinite=skip (a host-side scaler)", "use on_nonfinite=stop")
    if trainer_cfg.compile == "reduce-overhead" or (
        trainer_cfg.compile != "none" and trainer_cfg.compile_scope == "step"
    ):
        refuse(
            "captures the step itself, so not with torch.compile's CUDA graphs "
            "(compile=reduce-overhead) or compile_scope=step",
            "use trainer.compile=none or default with compile_scope=network",
        )
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # set by torchrun
        refuse("does not run under torchrun (DDP's reductions are not captured)", "drop it there")
    reason = task_class.step_capture_unsupported(model_cfg)
    if reason:
        refuse(f"cannot capture {task_class.__name__}'s step: {reason}", "drop capture_step")


class CapturedStep:
    """``train_batch(images_u8, amp)`` replayed from one CUDA graph after a few eager steps.

    Returns the step's scalars as the graph's static outputs: the next call overwrites
    them, so the caller copies them first (``StepAccumulator.add`` does).
    """

    def __init__(self, task: Any, train_batch: Any) -> None:
        self.task, self.train_batch = task, train_batch
        self.eager_steps = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static_images: torch.Tensor | None = None  # (B, C, H, W) uint8, the graph's input
        self.static_stats: dict[str, torch.Tensor] = {}
        self.side_stream: torch.cuda.Stream | None = None
        for optimizer in task.optimizers.values():
            for group in optimizer.param_groups:
                group["capturable"] = True  # step counters on the GPU, no host reads in step()

    def __call__(self, images_u8: torch.Tensor, amp: Any) -> dict[str, torch.Tensor]:
        if self.graph is None and self.eager_steps < WARMUP_STEPS:
            self.eager_steps += 1
            return self._on_side_stream(lambda: self.train_batch(images_u8, amp))
        if self.graph is None:
            self._capture(images_u8, amp)
            self.graph.replay()  # the capture ran nothing: this is the step for this batch
            return self.static_stats
        if images_u8.shape != self.static_images.shape:
            raise ValueError(
                f"trainer.capture_step: batch of shape {tuple(images_u8.shape)} after a capture "
                f"of {tuple(self.static_images.shape)}; batches must keep one shape (drop_last)"
            )
        self.static_images.copy_(images_u8)
        self.graph.replay()
        self.task.after_replay()
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

    def _capture(self, images_u8: torch.Tensor, amp: Any) -> None:
        self.static_images = images_u8.clone()
        for optimizer in self.task.optimizers.values():
            optimizer.zero_grad(set_to_none=True)  # gradients are allocated in the graph's pool
        torch.cuda.synchronize()
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.static_stats = self.train_batch(self.static_images, amp)
