"""Load a finished (or running) run back: ``aegan.load_run(path)`` for notebooks and scripts.

One way to rebuild models: the checkpoint's own resolved config goes through the same
``build_task`` as training, then the saved weights are loaded. Nothing is rebuilt by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from aegan.data import ImageData, denormalize, load_data, normalize
from aegan.engine.amp import resolve_device
from aegan.engine.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_module_state,
    resolve_checkpoint,
    run_dir_of,
)
from aegan.tasks import Task, build_task


@dataclass
class Run:
    """A run dir read back: config, trained networks in eval mode, data, metrics, helpers."""

    path: Path  # the run directory
    checkpoint: Path
    config: DictConfig
    task: Task
    data: ImageData
    device: torch.device
    step: int
    epoch: int
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def modules(self) -> dict[str, torch.nn.Module]:
        return self.task.modules

    @cached_property
    def history(self) -> list[dict[str, float]]:
        """Validation metrics per epoch, from the checkpoint."""
        return load_checkpoint(self.checkpoint)["history"]

    # ------------------------------------------------------------------ autoencoder
    def _autoencoder(self):
        if "autoencoder" not in self.modules:
            raise AttributeError(
                f"{self.path} is a {self.config.model.task} run, not an autoencoder run"
            )
        return self.modules["autoencoder"]

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 or [0, 1] float images (N, C, H, W) -> codes (N, latent_dim)."""
        return self._autoencoder().encode(self._as_input(images))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (N, latent_dim) -> images in [0, 1] (N, C, H, W)."""
        return self._autoencoder().decode(codes.to(self.device))

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 or [0, 1] float images -> reconstructions in [0, 1]."""
        return self._autoencoder().reconstruct(self._as_input(images))

    # ------------------------------------------------------------------ GAN
    def _generator(self, ema: bool) -> torch.nn.Module:
        for name in ("generator_ema", "generator") if ema else ("generator",):
            if name in self.modules:
                return self.modules[name]
        raise AttributeError(f"{self.path} is a {self.config.model.task} run, not a GAN run")

    @torch.no_grad()
    def sample(self, n: int, *, seed: int = 0, ema: bool = True) -> torch.Tensor:
        """``n`` generated images in [0, 1] (n, C, H, W) from seeded standard-normal z."""
        z = torch.randn(
            n, self.config.model.latent_dim, generator=torch.Generator().manual_seed(seed)
        )
        return self.generate(z, ema=ema)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, *, ema: bool = True) -> torch.Tensor:
        """Latent vectors (n, latent_dim) -> images in [0, 1]."""
        return denormalize(self._generator(ema)(z.to(self.device)), "symmetric")

    @torch.no_grad()
    def interpolate(self, a: torch.Tensor, b: torch.Tensor, steps: int = 8) -> torch.Tensor:
        """Images along the straight line between two images (autoencoder: in code space)
        or two latent vectors (GAN) -> (steps, C, H, W) in [0, 1]."""
        weights = torch.linspace(0, 1, steps, device=self.device).view(-1, 1)
        if "autoencoder" in self.modules:
            codes = self.encode(torch.stack([a, b]))  # (2, latent_dim)
            return self.decode(codes[:1] * (1 - weights) + codes[1:] * weights)
        a, b = a.to(self.device).view(1, -1), b.to(self.device).view(1, -1)
        return self.generate(a * (1 - weights) + b * weights)

    def _as_input(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.device)
        return normalize(images, "unit") if images.dtype == torch.uint8 else images


def load_run(
    path: str | Path, *, checkpoint: str = "best", device: str = "cpu", data_dir: str | None = None
) -> Run:
    """Read a run dir (or a checkpoint file) into a ``Run`` with its networks in eval mode.

    ``checkpoint``: "best" or "last" (ignored when ``path`` is a file). The data set is
    read again from the config's data section (``data_dir`` overrides where downloads go).
    """
    checkpoint_path = resolve_checkpoint(path, checkpoint)
    state = load_checkpoint(checkpoint_path)
    config = OmegaConf.create(state["config"])
    run_dir = run_dir_of(checkpoint_path)
    torch_device = resolve_device(device, key="device")
    data = load_data(config.data, data_dir=data_dir or config.paths.data_dir).to(torch_device)
    task = build_task(config.model, data, torch_device)
    for name, module in task.modules.items():
        load_module_state(module, state["modules"][name], name=name, path=checkpoint_path)
    task.load_extra_state(state["task"])
    task.eval()
    metrics_file = run_dir / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    return Run(
        path=run_dir, checkpoint=checkpoint_path, config=config, task=task, data=data,
        device=torch_device, step=state["step"], epoch=state["epoch"], metrics=metrics,
    )  # fmt: skip


__all__ = ["CheckpointError", "Run", "load_run"]
