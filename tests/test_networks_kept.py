"""A task whose step adds, replaces or reshapes one of its networks is refused at that step,
in one line naming the task and the network: checkpoints save the networks it is built with,
and a resume or load_run builds those again. A replaced network's trained weights were lost
(its optimizer stepped the old one) and an added one was saved where nothing loads it."""

from __future__ import annotations

import pytest
import torch
from fit_task import PixelTask, run_fit
from torch import nn

from aegan.errors import ContractError

RULE = (
    "checkpoints save the networks a task is built with, which a resume and load_run build "
    "again: make every network in the constructor and change its weights in place"
)


class AddsANetwork(PixelTask):
    def train_step(self, batch, amp):
        self.networks["extra"] = nn.Linear(2, 2)
        return super().train_step(batch, amp)


class DropsANetwork(PixelTask):
    def train_step(self, batch, amp):
        stats = super().train_step(batch, amp)
        self.networks = {}
        return stats


class ReplacesANetwork(PixelTask):
    def train_step(self, batch, amp):
        stats = super().train_step(batch, amp)
        self.networks["net"] = nn.Sequential(nn.Linear(4, 4))
        return stats


class ReshapesALayer(PixelTask):
    def train_step(self, batch, amp):
        stats = super().train_step(batch, amp)
        self.net[0] = nn.Linear(4, 3)
        return stats


class ReplacesAWeight(PixelTask):
    def train_step(self, batch, amp):
        stats = super().train_step(batch, amp)
        self.net[0].weight = nn.Parameter(torch.zeros(4, 4))
        return stats


class ReplacesAfterAnEpoch(PixelTask):
    def log_epoch(self, logger, data, step: int) -> None:
        self.net[0] = nn.Linear(4, 4)


@pytest.mark.parametrize(
    ("task", "line"),
    [(AddsANetwork, "AddsANetwork.networks gained 'extra' after it was built"),
     (DropsANetwork, "DropsANetwork.networks lost 'net' after it was built"),
     (ReplacesANetwork, "ReplacesANetwork.networks['net'] is another module than the one it was "
      "built with (its optimizer steps that one's weights)"),
     (ReshapesALayer, "ReshapesALayer.networks['net'] holds 0.weight of shape (3, 4), built as "
      "(4, 4)"),
     (ReplacesAWeight, "ReplacesAWeight.networks['net'] holds another 0.weight than it was built "
      "with (its optimizer steps that one)"),
     (ReplacesAfterAnEpoch, "ReplacesAfterAnEpoch.networks['net'] holds another 0.weight than it "
      "was built with (its optimizer steps that one)")],
)  # fmt: skip
def test_a_network_changed_after_the_task_was_built_is_refused(tmp_path, task, line):
    with pytest.raises(ContractError) as caught:
        run_fit(tmp_path, epochs=1, task=task())
    assert str(caught.value) == f"{line}; {RULE}"
