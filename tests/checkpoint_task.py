"""A two-network task small enough to train in a few steps, standing in for a model in the
checkpoint module's tests (files real, written and read with torch)."""

from __future__ import annotations

import torch
from torch import nn

from aegan.amp import Amp
from aegan.contract import Task
from aegan.engine.state import Progress, checkpoint_state

CPU = torch.device("cpu")
RECORD = {"config": {"seed": 3}, "choices": {"model": "tiny", "data": "noise"}}


class TinyTask(Task):
    """Two networks (one with BatchNorm's integer counter), two Adams, a step counter."""

    objective = "val/loss"

    def __init__(self, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.networks = {
            "encoder": nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)),
            "decoder": nn.Linear(3, 4),
        }
        self.optimizers = {
            name: torch.optim.Adam(net.parameters(), lr=0.01) for name, net in self.networks.items()
        }
        self.steps = 0

    def train_step(self, batch: torch.Tensor, amp: Amp) -> dict[str, torch.Tensor]:
        loss = (self.networks["decoder"](self.networks["encoder"](batch)) - batch).pow(2).mean()
        amp.backward(loss)
        for optimizer in self.optimizers.values():
            amp.step(optimizer)
            optimizer.zero_grad()
        amp.update()
        self.steps += 1
        return {"train/loss": loss.detach()}

    def extra_state(self) -> dict:
        return {"steps": self.steps}

    def load_extra_state(self, state: dict) -> None:
        self.steps = state["steps"]


def trained(steps: int = 3, seed: int = 0) -> tuple[TinyTask, Amp]:
    task = TinyTask(seed)
    amp = Amp("fp32", CPU, skip_nonfinite=True)  # a unit scaler: its state is saved too
    for _ in range(steps):
        task.train_step(torch.randn(8, 4), amp)
    return task, amp


def a_state(**changes) -> dict:
    task, amp = trained(1)
    progress = Progress(epoch=1, batch=2, step=5, best_objective=0.5, history=[{"val/loss": 0.5}])
    return {**checkpoint_state(task, amp, progress, RECORD), **changes}


def saved(tmp_path, state: dict, name: str = "c.pt") -> str:
    torch.save(state, tmp_path / name)
    return tmp_path / name
