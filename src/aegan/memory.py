"""How much a device holds, and the share of it a model or a batch of images may take:
refused up front, an allocation fails after minutes, or the kernel is killed with all a
notebook held."""

from __future__ import annotations

from typing import Any

import torch

from aegan.errors import ConfigError
from aegan.tasks.build import largest_size, parameter_bytes
from aegan.tasks.inputs import MEMORY_SHARE, device_memory


def check_memory(task: Any, device: torch.device, model_cfg: Any = None) -> None:
    """Refuse a model whose weights, gradients and Adam's two moments would not fit; the
    line names the largest of ``model_cfg``'s sizes (the model section), if given."""
    needed = 4 * parameter_bytes(task)
    total = device_memory(device)
    if needed > MEMORY_SHARE * total:
        largest = largest_size(model_cfg, "model") if model_cfg is not None else ""
        raise ConfigError(
            f"model sizes need {needed / 2**30:.1f} GiB for weights, gradients and Adam's "
            f"state, more than {MEMORY_SHARE:.0%} of this {device.type}'s {total / 2**30:.1f} "
            "GiB; choose smaller model sizes" + (f" (the largest: {largest})" if largest else "")
        )


def check_weights_fit(task: Any, device: torch.device, source: str) -> None:
    """Refuse a run read back whose weights alone would not fit ``device``: only they are
    made (no gradients, no optimizer), and their sizes are the run's (``source``: its
    checkpoint), not a setting the reader chose."""
    needed, total = parameter_bytes(task), device_memory(device)
    if needed > MEMORY_SHARE * total:
        raise ConfigError(
            f"{source}: its model's weights need {needed / 2**30:.1f} GiB, more than "
            f"{MEMORY_SHARE:.0%} of this {device.type}'s {total / 2**30:.1f} GiB; read it on "
            "a device with more memory (device=cuda:N)"
        )
