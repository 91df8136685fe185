"""The values a checkpoint holds, checked before anything is computed from them: the random
number states."""

from __future__ import annotations

import pytest
import torch
from checkpoint_task import CPU, TinyTask, a_state

from aegan.amp import Amp
from aegan.engine.state import restore
from aegan.errors import CheckpointError


def test_a_random_number_state_of_another_shape_is_named_unread():
    state, task = a_state(), TinyTask()
    state["rng"]["torch"] = torch.zeros(1, dtype=torch.uint8).expand(10**6, 10**6)
    rng = torch.get_rng_state()
    with pytest.raises(CheckpointError) as caught:
        restore(task, Amp("fp32", CPU), state, path="c.pt")
    assert str(caught.value) == (
        "c.pt: its random number state is not usable (rng.torch is a torch.uint8 tensor of "
        f"shape (1000000, 1000000), not a torch.uint8 tensor of shape {tuple(rng.shape)})"
    )
    assert torch.equal(torch.get_rng_state(), rng)


class FakeCuda:
    """torch.cuda on a machine with one device, recording the states it is given."""

    def __init__(self, monkeypatch) -> None:
        self.given: list[tuple[int, torch.Tensor]] = []
        own = torch.zeros(16, dtype=torch.uint8)  # a CUDA generator's seed and offset
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: [own])
        monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s, i=0: self.given.append((i, s)))
        monkeypatch.setattr(torch.cuda, "set_rng_state_all",
                            lambda states: self.given.extend(enumerate(states)))  # fmt: skip


def test_a_cuda_random_number_state_is_checked_before_torch_copies_it(monkeypatch):
    """torch.cuda.set_rng_state clones its argument: a stride-0 state of 10**12 bytes, a
    few bytes in the file, would be made whole."""
    state, task = a_state(), TinyTask()
    state["rng"]["cuda"] = [torch.zeros(1, dtype=torch.uint8).expand(10**12)]
    cuda = FakeCuda(monkeypatch)
    with pytest.raises(CheckpointError) as caught:
        restore(task, Amp("fp32", CPU), state, path="c.pt")
    assert str(caught.value) == (
        "c.pt: its random number state is not usable (rng.cuda[0] is a torch.uint8 tensor of "
        "shape (1000000000000,), not a torch.uint8 tensor of shape (16,))"
    )
    assert cuda.given == []


def test_a_run_saved_on_more_devices_restores_those_this_machine_has(monkeypatch):
    state, task = a_state(), TinyTask()
    state["rng"]["cuda"] = [torch.full((16,), i, dtype=torch.uint8) for i in range(8)]
    cuda = FakeCuda(monkeypatch)
    restore(task, Amp("fp32", CPU), state, path="c.pt")
    assert [(i, s[0].item()) for i, s in cuda.given] == [(0, 0)]
