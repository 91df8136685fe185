"""A model of the user's own for the tests: a linear autoencoder task, defined outside the
package, its config written to a folder on Hydra's search path (``test_custom_task.py``,
``test_custom_task_refusals.py``)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import open_dict
from torch import nn

from aegan.config import compose_config
from aegan.contract import Task
from aegan.data import normalize
from aegan.tasks.build import build_optimizer

TOY_YAML = """\
_target_: custom_task.LinearAutoencoder
_recursive_: false
name: toy
latent_dim: 4
optimizer:
  _target_: torch.optim.Adam
  _partial_: true
  lr: 0.01
"""


class LinearAutoencoder(Task):
    """The smallest model that can encode: one linear map each way."""

    objective = "val/mse"
    metrics = ("reconstruction", "probe")

    def __init__(self, *, image_shape: Sequence[int], device, name: str, latent_dim: int,
                 optimizer: dict) -> None:  # fmt: skip
        pixels = math.prod(image_shape)
        self.name, self.latent_dim, self.shape = name, latent_dim, tuple(image_shape)
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(pixels, latent_dim), nn.Linear(latent_dim, pixels)
        )
        self.net.to(device)
        self.networks = {"net": self.net}
        self.optimizers = {
            "adam": build_optimizer("model.optimizer", optimizer, self.net.parameters())
        }
        self.steps = 0

    def train_step(self, batch: torch.Tensor, amp) -> dict[str, torch.Tensor]:
        x = normalize(batch, "unit")
        loss = F.mse_loss(self.reconstruct_logits(x), x)
        amp.backward(loss)
        amp.step(self.optimizers["adam"])
        self.steps += 1
        return {"train/loss": loss.detach()}

    def reconstruct_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1, *self.shape)

    @torch.no_grad()
    def validate(self, batches: Iterable[torch.Tensor], amp) -> dict[str, float]:
        total, count = 0.0, 0
        for batch in batches:
            x = normalize(batch, "unit")
            total += F.mse_loss(self.reconstruct(x), x, reduction="sum").item()
            count += x.numel()
        return {"val/mse": total / count}

    def extra_state(self) -> dict:
        return {"steps": self.steps}

    def load_extra_state(self, state: dict) -> None:
        self.steps = int(state["steps"])

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.net[1](self.net[0](x))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self.net[2](codes).view(-1, *self.shape).clamp(0, 1)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def write_user_configs(folder: Path) -> str:
    """The user's own config folder, on Hydra's search path like ``hydra.searchpath=[...]``."""
    (folder / "my_conf" / "model").mkdir(parents=True)
    (folder / "my_conf" / "model" / "toy.yaml").write_text(TOY_YAML)
    return f"file://{folder / 'my_conf'}"


def toy_config(searchpath: str, run_dir: Path, *overrides: str):
    cfg = compose_config(
        ["model=toy", "trainer.device=cpu", "data.subset=1000", "data.val_size=500",
         "data.batch_size=50", "trainer.epochs=1", "logger.enabled=false",
         "evaluate.metrics=[reconstruction,probe]", *overrides],
        searchpath=[searchpath],
    )  # fmt: skip
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
        cfg.paths.data_dir = str(run_dir.parent / "data")
    return cfg
