"""Tasks: what one training step means for each kind of model (``model.task`` picks one)."""

from __future__ import annotations

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from aegan.data import ImageData
from aegan.engine.amp import ConfigError
from aegan.models.dcgan import generator_layout
from aegan.tasks.autoencoder import AutoencoderTask
from aegan.tasks.base import Task
from aegan.tasks.gan import GanTask

TASK_CLASSES: dict[str, type[Task]] = {"autoencoder": AutoencoderTask, "gan": GanTask}
TASKS = tuple(TASK_CLASSES)

__all__ = ["TASKS", "TASK_CLASSES", "AutoencoderTask", "GanTask", "Task", "build_task"]


def _optimizer(key: str, optimizer_cfg: DictConfig):
    """The partial optimizer of ``model.<key>``, refusing ``fused`` and ``foreach`` together."""
    if optimizer_cfg.get("fused") and optimizer_cfg.get("foreach"):
        raise ConfigError(
            f"model.{key}.fused=true and model.{key}.foreach=true cannot both be set; "
            f"set model.{key}.fused=false to use foreach"
        )
    # plain lists and tuples (betas), not ListConfigs, in the optimizer state
    return instantiate(optimizer_cfg, _convert_="all")


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
            _optimizer("optimizer", model_cfg.optimizer),
            loss=model_cfg.loss,
            fixed_images=fixed_images.to(device),
            class_names=data.classes,
            projector_samples=projector_samples,
        )
    if model_cfg.task == "gan":
        try:
            generator_layout(image_shape[1:])
        except ValueError as err:
            raise ConfigError(f"data {data.name}: {err}") from None
        generator = instantiate(model_cfg.generator, image_shape=image_shape).to(device)
        discriminator = instantiate(model_cfg.discriminator, image_shape=image_shape).to(device)
        return GanTask(
            generator,
            discriminator,
            _optimizer("g_optimizer", model_cfg.g_optimizer),
            _optimizer("d_optimizer", model_cfg.d_optimizer),
            loss=model_cfg.loss,
            gp_weight=model_cfg.gp_weight,
            n_critic=model_cfg.n_critic,
            r1_gamma=model_cfg.r1_gamma,
            ema_decay=model_cfg.ema_decay,
            noise_seed=model_cfg.noise_seed,
            fd_samples=model_cfg.fd_samples,
        )
    raise ConfigError(
        f"model.task={model_cfg.task!r} is not a task; choose one of: {', '.join(TASKS)}"
    )
