"""A task small enough that ``aegan.engine.loop.fit`` runs three epochs in milliseconds:
a linear map (and dropout) on 2x2 images, 8 steps an epoch; shared by the loop's tests."""

from __future__ import annotations

import signal
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch import nn

from aegan.amp import Amp
from aegan.contract import Task
from aegan.data import ImageData
from aegan.engine import RunContext, fit, load_checkpoint
from aegan.engine.branch import keep_later_checkpoints
from aegan.logger import TensorBoardLogger

CPU = torch.device("cpu")
BATCH, STEPS_PER_EPOCH, SEED = 4, 8, 5


class PixelTask(Task):
    """Predicts a 2x2 image from itself; validation is its MSE, in eval mode under autocast."""

    objective = "val/mse"

    def __init__(self, lr: float = 0.5, uses_labels: bool = False) -> None:
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.25))
        self.networks = {"net": self.net}
        self.optimizers = {"sgd": torch.optim.SGD(self.net.parameters(), lr=lr, momentum=0.9)}
        self.uses_labels = uses_labels
        self.batches: list = []  # what each step got
        self.losses: list[float] = []  # each step's scalar, as logged (NaN: a skipped step)
        self.logged: list[tuple] = []  # log_epoch's calls

    def loss(self, images: torch.Tensor) -> torch.Tensor:
        x = images.flatten(1).float() / 255
        return F.mse_loss(self.net(x), x)

    def train_step(self, batch, amp: Amp) -> dict[str, torch.Tensor]:
        self.batches.append(batch)
        loss = self.loss(batch[0] if self.uses_labels else batch)
        loss = loss + 1e-3 * torch.rand(())  # the global RNG: a resume restores it
        self.losses.append(loss.item())
        amp.backward(loss)
        amp.step(self.optimizers["sgd"])
        self.optimizers["sgd"].zero_grad()
        return {"train/loss": loss.detach()}

    @torch.no_grad()
    def validate(self, batches, amp: Amp) -> dict[str, float]:
        with amp.autocast():
            return {"val/mse": torch.stack([self.loss(b) for b in batches]).mean().item()}

    def log_epoch(self, logger, data, step: int) -> None:
        self.logged.append((type(logger).__name__, data.name, step))

    def extra_state(self) -> dict:
        return {"marker": 7}


def tiny_data(binarize: bool = False) -> ImageData:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (BATCH * STEPS_PER_EPOCH + 3, 1, 2, 2), generator=g,
                           dtype=torch.uint8)  # fmt: skip
    labels = torch.arange(len(images)) % 3
    return ImageData("tiny", images, labels, images[:6], labels[:6], images[:6], labels[:6],
                     ("a", "b", "c"), "test", train_intensities=images if binarize else None)  # fmt: skip


def trainer(**changes):
    return OmegaConf.create({"epochs": 3, "checkpoint_every_steps": 0, "keep_checkpoints": 2,
                             "on_nonfinite": "stop", "eval_batch_size": 4, **changes})  # fmt: skip


def run_fit(folder: Path, *, stop_at: int | None = None, resume: bool | Path = False,
            log: bool = False, step_hook=None, nan_steps=(), task: PixelTask | None = None,
            data: ImageData | None = None, branch: bool = False, **trainer_changes):  # fmt: skip
    """``fit`` as aegan.train calls it, in ``folder``. ``stop_at``: SIGTERM arrives during that
    step (1-based, counted from the run's start); ``nan_steps``: steps that only report NaN;
    ``step_hook(count, task)`` runs before each step; ``resume``: True (last.pt) or a file;
    ``branch``: the checkpoints past it kept aside first, as aegan.train does."""
    task = task or PixelTask()
    amp = Amp("fp32", CPU)
    checkpoints = folder / "checkpoints"
    path = checkpoints / "last.pt" if resume is True else resume
    state = (load_checkpoint(path), path) if path else None
    run = RunContext(
        amp=amp, logger=TensorBoardLogger(folder / "tb", enabled=log), checkpoint_dir=checkpoints,
        record={"config": {}, "choices": {}}, seed=SEED, batch_size=BATCH, log_every_steps=3,
        resume=state,
        on_restored=(lambda: keep_later_checkpoints(folder, path, state[0]["step"],
                                                    state[0]["epoch"])) if branch else None,
    )  # fmt: skip
    count = state[0]["step"] if state else 0

    def step(batch):
        nonlocal count
        count += 1
        if step_hook:
            step_hook(count, task)
        if count == stop_at:
            run.stop.signal_number = signal.SIGTERM
        if count in nan_steps:
            task.losses.append(float("nan"))
            return {"train/loss": torch.tensor(float("nan"))}
        return task.train_step(batch, amp)

    try:
        progress = fit(task, step, data or tiny_data(), trainer(**trainer_changes), run)
    finally:
        run.logger.close()
    return task, progress
