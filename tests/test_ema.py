"""The EMA of the generator's weights against the rule written out in float64: the decay
min(max_decay, (1 + t) / (10 + t)) at update t, float weights and buffers averaged, integer
buffers copied, and a frozen copy that the live network's training does not touch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aegan.tasks.ema import ExponentialMovingAverage, ema_update_


def expected_decay(t: int, max_decay: float) -> float:
    return min(max_decay, (1 + t) / (10 + t))


@pytest.mark.parametrize("max_decay", [0.999, 0.6])
def test_ema_update_follows_the_ramp_then_the_maximum(max_decay):
    g = torch.Generator().manual_seed(0)
    averaged = [torch.randn(3, 2, generator=g), torch.randn(4, generator=g)]
    reference = [a.double() for a in averaged]
    clock = torch.zeros(())
    for t in range(30):
        live = [torch.randn(3, 2, generator=g), torch.randn(4, generator=g)]
        ema_update_(averaged, live, clock, max_decay)
        decay = expected_decay(t, max_decay)
        reference = [
            decay * r + (1 - decay) * x.double() for r, x in zip(reference, live, strict=True)
        ]
        assert clock.item() == t + 1
    for a, r in zip(averaged, reference, strict=True):
        torch.testing.assert_close(a.double(), r, rtol=1e-5, atol=1e-6)


def test_the_first_update_takes_nine_tenths_of_the_live_weights():
    averaged, clock = [torch.zeros(2)], torch.zeros(())
    ema_update_(averaged, [torch.full((2,), 10.0)], clock, 0.999)
    torch.testing.assert_close(averaged[0], torch.full((2,), 9.0))  # decay 1/10


def test_a_late_update_moves_by_one_minus_the_maximum():
    averaged, clock = [torch.zeros(2)], torch.full((), 1e6)
    ema_update_(averaged, [torch.ones(2)], clock, 0.99)
    torch.testing.assert_close(averaged[0], torch.full((2,), 0.01))
    assert clock.item() == 1e6 + 1


def network() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.Dropout(0.5))


def test_the_average_is_a_frozen_copy_in_eval_mode():
    live = network().train()
    ema = ExponentialMovingAverage(live, 0.9)
    assert ema.network is not live and not ema.network.training
    assert all(not p.requires_grad for p in ema.network.parameters())
    assert all(p.requires_grad for p in live.parameters())  # the live network is untouched
    assert ema.clock.dtype == torch.float32 and ema.clock.shape == () and ema.updates() == 0
    with torch.no_grad():
        live[0].weight.add_(1.0)
    assert not torch.equal(ema.network[0].weight, live[0].weight)  # a copy, not a view
    x = torch.randn(4, 3)
    torch.testing.assert_close(ema.network(x), ema.network(x))  # eval: dropout off


def test_update_averages_floats_and_copies_integer_buffers():
    live = network().train()
    ema = ExponentialMovingAverage(live, 0.95)
    start = {k: v.clone().double() for k, v in ema.network.state_dict().items()}
    reference = dict(start)
    for t in range(12):
        live(torch.randn(8, 3) + t)  # moves the BatchNorm statistics and counter
        with torch.no_grad():
            for p in live.parameters():
                p.add_(0.1 * torch.randn_like(p))
        ema.update(live)
        decay = expected_decay(t, 0.95)
        for key, value in live.state_dict().items():
            if value.is_floating_point():
                reference[key] = decay * reference[key] + (1 - decay) * value.double()
    assert ema.updates() == 12
    mine = ema.network.state_dict()
    assert mine["1.num_batches_tracked"].item() == 12 == live[1].num_batches_tracked.item()
    for key, value in reference.items():
        if key.endswith("num_batches_tracked"):
            continue
        torch.testing.assert_close(mine[key].double(), value, rtol=1e-5, atol=1e-6, msg=key)
        assert not torch.equal(mine[key].double(), start[key]), key


def test_set_updates_resumes_the_ramp():
    live = nn.Linear(2, 2)
    ema = ExponentialMovingAverage(live, 0.999)
    ema.set_updates(40)
    assert ema.updates() == 40 and isinstance(ema.updates(), int)
    before = ema.network.weight.clone()
    with torch.no_grad():
        live.weight.add_(1.0)
    ema.update(live)
    decay = 41 / 50  # t = 40
    torch.testing.assert_close(ema.network.weight, decay * before + (1 - decay) * live.weight)
    assert ema.updates() == 41


def test_the_update_clock_lives_on_the_networks_device():
    """On the device, so a replayed CUDA graph ramps it (meta stands in for CUDA here)."""
    ema = ExponentialMovingAverage(nn.Linear(2, 2, device="meta"), 0.9)
    assert ema.clock.device.type == "meta" and ema.network.weight.device.type == "meta"


def test_an_update_from_another_architecture_is_refused():
    ema = ExponentialMovingAverage(nn.Linear(2, 2), 0.9)
    with pytest.raises(ValueError, match="zip"):
        ema.update(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)))
