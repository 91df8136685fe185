"""``trainer.direct_optimizer_step``: the direct Adam step makes torch's update exactly, keeps
torch's state (checkpoints, resume), respects a GradScaler's skip, and leaves other
optimizers alone. Its speed is measured by ``aegan.bench`` (README, "Performance")."""

from __future__ import annotations

import copy
import io

import pytest
import torch
from torch import nn

from aegan.amp import Amp
from aegan.speed.direct_step import use_direct_step
from conftest import TINY_AE, built

SETTINGS = {
    "fused": (torch.optim.Adam, {"fused": True}),
    "foreach": (torch.optim.Adam, {"foreach": True}),
    "for-loop": (torch.optim.Adam, {"foreach": False}),
    "amsgrad, weight decay": (torch.optim.Adam, {"amsgrad": True, "weight_decay": 0.1}),
    "AdamW": (torch.optim.AdamW, {"fused": True, "weight_decay": 0.1}),
}


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))


def _train(net: nn.Module, optimizer: torch.optim.Optimizer, steps: int) -> None:
    data = torch.Generator().manual_seed(1)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        x = torch.randn(4, 6, generator=data)
        net(x).square().mean().backward()
        optimizer.step()


@pytest.mark.parametrize("setting", SETTINGS)
def test_direct_step_makes_torchs_update_exactly(setting):
    kind, options = SETTINGS[setting]
    nets = [_net(), _net()]
    optimizers = [kind(net.parameters(), lr=1e-2, **options) for net in nets]
    assert use_direct_step(optimizers[1])
    for net, optimizer in zip(nets, optimizers, strict=True):
        _train(net, optimizer, steps=5)  # the first through torch's step, which makes the state
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        assert torch.equal(a, b)
    torch_state, direct_state = (o.state_dict()["state"] for o in optimizers)
    for index, state in torch_state.items():
        for key, value in state.items():
            assert torch.equal(direct_state[index][key], value), (index, key)


def test_direct_step_follows_a_resumed_state():
    trained, resumed = _net(), _net()
    source = torch.optim.Adam(trained.parameters(), lr=1e-2, fused=True)
    _train(trained, source, steps=3)
    resumed.load_state_dict(trained.state_dict())
    target = torch.optim.Adam(resumed.parameters(), lr=1e-2, fused=True)
    use_direct_step(target)
    # new state tensors (as from a checkpoint file), looked up at each step
    target.load_state_dict(copy.deepcopy(source.state_dict()))
    _train(trained, source, steps=2)
    _train(resumed, target, steps=2)
    for a, b in zip(trained.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)
    assert target.state_dict()["state"][0]["step"].item() == 5


@pytest.mark.parametrize("kind", [torch.optim.Adam, torch.optim.AdamW])
def test_fused_step_counters_survive_a_checkpoint_file(kind):
    # the direct fused step keeps the step counters as views of one tensor: saved to a file,
    # loaded into a new optimizer and stepped on, they count as torch's own
    nets = [_net(), _net()]
    reference, direct = (kind(net.parameters(), lr=1e-2, fused=True) for net in nets)
    use_direct_step(direct)
    _train(nets[0], reference, steps=3)
    _train(nets[1], direct, steps=3)
    file = io.BytesIO()
    torch.save(direct.state_dict(), file)
    file.seek(0)
    resumed_net = copy.deepcopy(nets[1])
    resumed = kind(resumed_net.parameters(), lr=1e-2, fused=True)
    use_direct_step(resumed)
    resumed.load_state_dict(torch.load(file, weights_only=True))
    _train(nets[0], reference, steps=2)
    _train(resumed_net, resumed, steps=2)
    for a, b in zip(nets[0].parameters(), resumed_net.parameters(), strict=True):
        assert torch.equal(a, b)
    steps = [state["step"] for state in resumed.state_dict()["state"].values()]
    assert [step.item() for step in steps] == [5.0] * 4 and all(s.dim() == 0 for s in steps)


def test_direct_step_is_skipped_by_the_nonfinite_guard():
    net = _net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2, fused=True)
    use_direct_step(optimizer)
    amp = Amp("fp32", torch.device("cpu"), skip_nonfinite=True)  # a unit GradScaler
    _train(net, optimizer, steps=1)
    before = [p.clone() for p in net.parameters()]
    optimizer.zero_grad(set_to_none=True)
    amp.backward(net(torch.full((4, 6), float("inf"))).sum())
    amp.step(optimizer)
    amp.update()
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_other_optimizers_keep_torchs_step():
    net = _net()
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    differentiable = torch.optim.Adam(net.parameters(), differentiable=True)
    assert not use_direct_step(sgd) and not use_direct_step(differentiable)
    assert "step" not in vars(sgd) and "step" not in vars(differentiable)


@pytest.mark.parametrize("direct", [True, False])
def test_the_switch_reaches_the_tasks_optimizers(direct, tmp_path):
    _, task, _, _ = built([*TINY_AE, f"trainer.direct_optimizer_step={direct}"], tmp_path)
    assert ("step" in vars(task.optimizers["optimizer"])) == direct


def test_a_capturable_optimizer_steps_through_torch():
    # capture_step makes the optimizers capturable; torch's step then runs (and is captured)
    net = _net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    use_direct_step(optimizer)
    _train(net, optimizer, steps=1)
    optimizer.param_groups[0]["capturable"] = True  # as CapturedStep does, on CUDA
    with pytest.raises(AssertionError, match="capturable=True"):  # torch's step refuses the CPU
        _train(net, optimizer, steps=1)
