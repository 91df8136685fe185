"""What the tasks with a generator and a discriminator share: the cheap validation
objective (a Frechet distance on pooled pixels) and the bookkeeping of their steps."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from aegan.amp import Amp
from aegan.io.files import atomic_write_bytes, keep_aside
from aegan.metrics import frechet_distance

POOLED_SIZE = 7  # pooled_pixels: 7x7 per channel (49-d grey, 147-d RGB)


def pooled_pixels(images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] (B, C, H, W) -> (B, C*7*7) average-pooled pixels: a cheap stand-in
    for a feature network, enough to tell blobs from garments each epoch, not sharpness."""
    return F.adaptive_avg_pool2d(images.float(), POOLED_SIZE).flatten(1)


def pixel_fd(fakes: torch.Tensor, real_features: Sequence[torch.Tensor]) -> float:
    """``val/pixel_fd``: fakes in [0, 1] (N, C, H, W) against the ``pooled_pixels`` of the
    validation batches."""
    return frechet_distance(pooled_pixels(fakes).cpu(), torch.cat(list(real_features)))


def write_sample_png(logger: Any, epoch: int, png: bytes) -> None:
    """The sampler's grid of epoch ``epoch`` (1-based) as ``RUN_DIR/samples/epoch-XXXX.png``;
    the run dir is the parent of ``logger.log_dir``. Whatever is at that name is kept aside
    (``epoch-XXXX.png.earlier``), never written over or through: ``epoch`` is the task's own
    count, read back from a checkpoint, and a link there may name any file."""
    path = Path(logger.log_dir).parent / "samples" / f"epoch-{epoch:04d}.png"
    if os.path.lexists(path):  # a branch has moved its run's later grids away already
        keep_aside(path, "earlier")
    atomic_write_bytes(path, png)


def grad_norm(params: list[nn.Parameter]) -> torch.Tensor:
    """L2 norm of the gradients of ``params`` as a 0-d device tensor (no host sync)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros((), device=params[0].device)
    return torch.nn.utils.get_total_norm(grads).detach()


def step_with_grad_norm(
    amp: Amp, optimizer: torch.optim.Optimizer, params: list[nn.Parameter]
) -> torch.Tensor:
    """Unscale the gradients of ``optimizer``, read their norm over ``params`` (``grad_norm``)
    and step; the norm, for the step scalars."""
    amp.unscale_(optimizer)
    norm = grad_norm(params)
    amp.step(optimizer)
    return norm


def set_requires_grad(params: list[nn.Parameter], requires_grad: bool) -> None:
    """``Module.requires_grad_`` over a parameter list made once (walking the module tree
    on every step costs more host time than a dozen kernel launches)."""
    for param in params:
        param.requires_grad_(requires_grad)
