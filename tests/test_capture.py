"""``trainer.capture_step``: the whole training iteration as one CUDA graph.

On the CPU: what it refuses, and the two pieces a replay relies on (the EMA decay ramp on
the device, optimizer speed flags that survive a resume). On CUDA (``gpu``): a captured
autoencoder learns what the eager one does, and a captured GAN step advances every
counter, buffer and EMA without a host sync.
"""

from __future__ import annotations

import pytest
import torch

from aegan.config import validate_config
from aegan.engine.scalars import StepAccumulator
from aegan.engine.state import load_optimizer_state
from aegan.errors import ConfigError
from aegan.speed import check_switches
from aegan.speed.capture import WARMUP_STEPS
from aegan.speed.padded_convs import PaddedConv2d
from aegan.tasks import build_task
from aegan.tasks.ema import ExponentialMovingAverage
from conftest import TINY_AE, TINY_GAN, built, compose_config, synthetic_data

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
CUDA = torch.device("cuda")  # a device object: no CUDA needed to build it


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (["trainer.precision=fp16"], "fp16"),
        (["trainer.on_nonfinite=skip"], "on_nonfinite=skip"),
        (["trainer.compile=reduce-overhead"], "reduce-overhead"),
        (["trainer.compile=default", "trainer.compile_scope=step"], "compile_scope=step"),
        (["model=dcgan", "model.n_critic=2"], "n_critic"),
        (["model=dcgan", "model.r1_gamma=1"], "penalties"),
        (["model=dcgan", "model.loss=wgan_gp"], "penalties"),
    ],
)
def test_capture_refuses_what_a_replay_cannot_repeat(overrides, named, tmp_path):
    cfg = compose_config([*overrides, "trainer.capture_step=true"], tmp_path)
    task = build_task(cfg.model, (1, 28, 28), torch.device("meta"))
    with pytest.raises(ConfigError, match="capture_step") as error:
        check_switches(cfg.trainer, task, CUDA)
    assert named in str(error.value) and "\n" not in str(error.value)
    plain = compose_config([o for o in overrides if o.startswith("model")], tmp_path)
    check_switches(plain.trainer, build_task(plain.model, (1, 28, 28), torch.device("meta")), CUDA)


def test_capture_is_refused_under_torchrun(tmp_path):
    cfg = compose_config(["trainer.capture_step=true"], tmp_path)
    task = build_task(cfg.model, (1, 28, 28), torch.device("meta"))
    with pytest.raises(ConfigError, match="torchrun"):
        check_switches(cfg.trainer, task, CUDA, world_size=2)


@pytest.mark.skipif(torch.cuda.is_available(), reason="auto is CUDA here")
def test_capture_on_a_machine_without_cuda_names_the_device(tmp_path):
    overrides = [*TINY_AE, "trainer.device=auto", "trainer.capture_step=true"]
    with pytest.raises(ConfigError, match="needs CUDA and this run is on cpu"):
        validate_config(compose_config(overrides, tmp_path))  # before any data is read


def test_ema_ramp_runs_on_the_device_counter_and_resumes():
    live = torch.nn.Linear(2, 3)
    ema = ExponentialMovingAverage(live, 0.999)
    with torch.no_grad():
        for p in ema.network.parameters():
            p.zero_()
        for p in live.parameters():
            p.fill_(1.0)
    ema.update(live)  # decay min(0.999, 1/10): 0.9 of the live weights
    ema.update(live)  # decay 2/11
    expected = 2 / 11 * 0.9 + 9 / 11
    for p in ema.network.parameters():
        torch.testing.assert_close(p, torch.full_like(p, expected))
    assert ema.updates() == 2 and ema.clock.item() == 2

    ema.set_updates(100_000)  # the ramp is over: decay 0.999
    before = [p.clone() for p in ema.network.parameters()]
    ema.update(live)
    for old, p in zip(before, ema.network.parameters(), strict=True):
        torch.testing.assert_close(p, 0.999 * old + 0.001)
    assert not any(p.requires_grad for p in ema.network.parameters())


def test_ema_copies_integer_buffers_and_averages_float_ones():
    live = torch.nn.BatchNorm1d(3)
    ema = ExponentialMovingAverage(live, 0.5)
    live.train()
    live(torch.randn(8, 3) + 5)  # running mean moves towards 5, num_batches_tracked = 1
    ema.update(live)  # decay min(0.5, 1/10) = 0.1
    assert ema.network.num_batches_tracked.item() == 1
    torch.testing.assert_close(ema.network.running_mean, 0.9 * live.running_mean)


@pytest.mark.parametrize("saved_fused", [True, False])
def test_a_resume_keeps_this_runs_optimizer_speed_flags(saved_fused):
    # a checkpoint of a captured CUDA run (capturable, fused or not) resumed by a plain CPU
    # run: torch's load_state_dict alone keeps the saved flags, so this run would step fused
    # without asking, or fail (capturable Adam refuses the CPU)
    weight = torch.nn.Parameter(torch.ones(3))
    captured = torch.optim.Adam([weight], fused=saved_fused, foreach=False)
    weight.grad = torch.ones(3)
    captured.step()
    state = captured.state_dict()
    state["param_groups"][0]["capturable"] = True

    plain = torch.optim.Adam([weight], foreach=False)
    load_optimizer_state(plain, state)
    group = plain.param_groups[0]
    assert not group["capturable"] and not group["fused"] and group["foreach"] is False
    step = plain.state[weight]["step"]
    assert step.device.type == "cpu" and step.dtype == torch.float32 and step.item() == 1
    plain.step()
    assert plain.state[weight]["step"].item() == 2


# ------------------------------------------------------------------ CUDA only


def _run(step, data, n: int) -> StepAccumulator:
    stats = StepAccumulator()
    for i in range(n):
        stats.add(step(data.train_images[64 * i : 64 * (i + 1)]), i)
    return stats


@pytest.mark.gpu
@needs_cuda
def test_gpu_captured_autoencoder_learns_what_the_eager_one_does(tmp_path):
    steps = WARMUP_STEPS + 3  # eager steps, the capture, 2 replays
    data = synthetic_data(n=64 * steps).to(CUDA)
    runs = {}
    for capture in (False, True):
        torch.manual_seed(0)  # the same initial weights
        overrides = [*TINY_AE, "trainer.device=cuda", f"trainer.capture_step={capture}"]
        _, task, _, step = built(overrides, tmp_path, CUDA, data)
        runs[capture] = (task, _run(step, data, steps).read()[0])
    (eager, eager_means), (captured, captured_means) = runs[False], runs[True]
    for a, b in zip(eager.net.parameters(), captured.net.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert captured_means["train/loss"] == pytest.approx(eager_means["train/loss"], rel=1e-4)
    step_counter = next(iter(captured.optimizers["optimizer"].state.values()))["step"]
    assert step_counter.item() == steps  # the replays counted their Adam steps


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize(
    ("channels_last", "pad", "compile_mode"),
    [(False, False, "none"), (True, False, "none"), (True, True, "none"), (True, True, "default")],
)
def test_gpu_captured_gan_step_advances_everything_without_a_sync(
    channels_last, pad, compile_mode, tmp_path
):
    data = synthetic_data().to(CUDA)
    overrides = [*TINY_GAN, "trainer.device=cuda", "trainer.capture_step=true",
                 f"trainer.channels_last={channels_last}", f"trainer.pad_thin_convs={pad}",
                 f"trainer.compile={compile_mode}"]  # fmt: skip
    _, task, amp, step = built(overrides, tmp_path, CUDA, data)
    assert isinstance(task.discriminator.features[0], PaddedConv2d) == pad
    assert amp.scaler is None
    _run(step, data, WARMUP_STEPS + 1)  # eager steps, then the capture and its replay
    ema_before = [p.clone() for p in task.ema.network.parameters()]
    bn_before = task.generator.project[1].running_mean.clone()
    weights_before = [p.clone() for p in task.discriminator.parameters()]

    stats = StepAccumulator()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any op that makes the host wait raises
    try:
        for i in range(3):  # replays
            stats.add(step(data.train_images[64 * i : 64 * (i + 1)]), i)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    means, bad, _ = stats.read()
    assert bad == 0 and all(v == v for v in means.values())
    assert means["train/d_loss"] > 0
    assert task.ema.updates() == WARMUP_STEPS + 4  # the replays advanced the device clock
    assert not torch.equal(bn_before, task.generator.project[1].running_mean)
    for before, after in zip(weights_before, task.discriminator.parameters(), strict=True):
        assert not torch.equal(before, after)
    ema_now = list(task.ema.network.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(ema_before, ema_now, strict=True))
