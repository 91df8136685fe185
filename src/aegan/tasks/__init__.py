"""Tasks: what one training step means for each kind of model (``model.task`` picks one)."""

from __future__ import annotations

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from aegan.data import ImageData
from aegan.engine.amp import ConfigError
from aegan.tasks.autoencoder import AutoencoderTask
from aegan.tasks.base import Task

TASKS = ("autoencoder",)

__all__ = ["TASKS", "AutoencoderTask", "Task", "build_task"]


def build_task(
    model_cfg: DictConfig, data: ImageData, device: torch.device, *, projector_samples: int = 1000
) -> Task:
    """Instantiate the networks of ``cfg.model`` for ``data``'s image shape, on ``device``."""
    image_shape = list(data.image_shape)
    fixed_images = data.val_images[:16] if len(data.val_images) else data.train_images[:16]
    if model_cfg.task == "autoencoder":
        net = instantiate(model_cfg.net, image_shape=image_shape).to(device)
        return AutoencoderTask(
            net,
            instantiate(model_cfg.optimizer),
            loss=model_cfg.loss,
            fixed_images=fixed_images.to(device),
            class_names=data.classes,
            projector_samples=projector_samples,
        )
    raise ConfigError(
        f"model.task={model_cfg.task!r} is not a task; choose one of: {', '.join(TASKS)}"
    )
