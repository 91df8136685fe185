"""``trainer.capture_step``: the whole training iteration as one CUDA graph.

On the CPU: what it refuses, and the two pieces a replay relies on (the EMA decay ramp on
the device, optimizer speed flags that survive a resume). On CUDA (``gpu``): a captured
autoencoder learns what the eager one does, and a captured GAN step advances every
counter, buffer and EMA without a host sync.
"""

from __future__ import annotations

import pytest
import torch
from test_speed import built, needs_cuda, synthetic_data

from aegan.config import validate_config
from aegan.engine import Amp, ConfigError
from aegan.engine.capture import WARMUP_STEPS, CapturedStep
from aegan.engine.loop import StepAccumulator, load_optimizer_state, run_step
from aegan.engine.padded_convs import PaddedConv2d
from conftest import TINY_AE, TINY_GAN, compose_config

CUDA_AE = [*TINY_AE, "trainer.device=cuda"]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (["trainer.device=cpu"], "needs CUDA"),
        (["trainer.device=cuda", "trainer.precision=fp16"], "fp16"),
        (["trainer.device=cuda", "trainer.on_nonfinite=skip"], "on_nonfinite=skip"),
        (["trainer.device=cuda", "trainer.compile=reduce-overhead"], "reduce-overhead"),
        (
            ["trainer.device=cuda", "trainer.compile=default", "trainer.compile_scope=step"],
            "compile_scope=step",
        ),
        (["model=dcgan", "trainer.device=cuda", "model.n_critic=2"], "n_critic"),
        (["model=dcgan", "trainer.device=cuda", "model.r1_gamma=1"], "penalties"),
        (["model=dcgan", "trainer.device=cuda", "model.loss=wgan_gp"], "penalties"),
    ],
)
def test_capture_refuses_what_a_replay_cannot_repeat(overrides, named, tmp_path):
    cfg = compose_config([*overrides, "trainer.capture_step=true"], tmp_path)
    with pytest.raises(ConfigError, match="trainer.capture_step=true") as error:
        validate_config(cfg)
    assert named in str(error.value) and "\n" not in str(error.value)


def test_capture_is_refused_under_torchrun(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    cfg = compose_config(["trainer.device=cuda", "trainer.capture_step=true"], tmp_path)
    with pytest.raises(ConfigError, match="torchrun"):
        validate_config(cfg)


@pytest.mark.skipif(torch.cuda.is_available(), reason="auto is CUDA here")
def test_capture_on_a_machine_without_cuda_names_the_device(tmp_path):
    overrides = [*TINY_AE, "trainer.device=auto", "trainer.capture_step=true"]
    with pytest.raises(ConfigError, match="trainer.device=auto runs on the CPU here"):
        validate_config(compose_config(overrides, tmp_path))  # before any data is read
    with pytest.raises(ConfigError, match="needs CUDA and this run is on cpu"):
        built(overrides, tmp_path)  # accelerate() checks the device it is given too


def test_ema_ramp_runs_on_the_device_counter_and_resumes(tmp_path, one_thread):
    _, task, _ = built(TINY_GAN, tmp_path)
    ema = task.generator_ema.module
    with torch.no_grad():
        for p in ema.parameters():
            p.zero_()
        for p in task.generator.parameters():
            p.fill_(1.0)
    task._update_ema()  # decay min(0.999, 1/10): 0.9 of the live weights
    task._update_ema()  # decay 2/11
    expected = 2 / 11 * 0.9 + 9 / 11
    for p in ema.parameters():
        torch.testing.assert_close(p, torch.full_like(p, expected))
    assert task.ema_updates == 2 and task.ema_clock.item() == 2
    assert task.generator_ema.n_averaged.item() == 2

    task.load_extra_state({**task.extra_state(), "ema_updates": 100_000})
    assert task.ema_clock.item() == 100_000  # the ramp is over: decay 0.999
    before = [p.clone() for p in ema.parameters()]
    task._update_ema()
    for old, p in zip(before, ema.parameters(), strict=True):
        torch.testing.assert_close(p, 0.999 * old + 0.001)


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


def _run(task, amp, data, n: int) -> StepAccumulator:
    stats = StepAccumulator(data.train_images.device)
    for i in range(n):
        run_step(task, amp, data.train_images[64 * i : 64 * (i + 1)], stats, i)
    return stats


@pytest.mark.gpu
@needs_cuda
def test_gpu_captured_autoencoder_learns_what_the_eager_one_does(tmp_path):
    cuda = torch.device("cuda")
    steps = WARMUP_STEPS + 3  # eager steps, the capture, 2 replays
    data = synthetic_data(n=64 * steps).to(cuda)
    runs = {}
    for capture in (False, True):
        torch.manual_seed(0)  # the same initial weights
        _, task, amp = built([*CUDA_AE, f"trainer.capture_step={capture}"], tmp_path, cuda, data)
        stats = _run(task, amp, data, steps)
        runs[capture] = (task, stats.read()[0])
    (eager, eager_means), (captured, captured_means) = runs[False], runs[True]
    assert isinstance(captured.fast_train_batch, CapturedStep) and captured.fast_train_batch.graph
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
    cuda = torch.device("cuda")
    data = synthetic_data().to(cuda)
    overrides = [*TINY_GAN, "trainer.device=cuda", "trainer.capture_step=true",
                 f"trainer.channels_last={channels_last}", f"trainer.pad_thin_convs={pad}",
                 f"trainer.compile={compile_mode}"]  # fmt: skip
    _, task, amp = built(overrides, tmp_path, cuda, data)
    # compiled: the networks and the step's arithmetic around them (losses, scores, EMA)
    assert hasattr(task.ema_update_, "_torchdynamo_orig_callable") == (compile_mode != "none")
    assert isinstance(task.discriminator.features[0], PaddedConv2d) == pad
    assert isinstance(amp, Amp) and amp.scaler is None
    _run(task, amp, data, WARMUP_STEPS + 1)  # eager steps, then the capture and its replay
    assert task.fast_train_batch.graph is not None
    ema_before = [p.clone() for p in task.generator_ema.module.parameters()]
    bn_before = task.generator.project[1].running_mean.clone()
    weights_before = [p.clone() for p in task.discriminator.parameters()]

    stats = StepAccumulator(cuda)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any op that makes the host wait raises
    try:
        for i in range(3):  # replays
            run_step(task, amp, data.train_images[64 * i : 64 * (i + 1)], stats, i)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    means, bad, _ = stats.read()
    assert bad == 0 and all(v == v for v in means.values())
    assert means["train/d_loss"] > 0
    steps_done = WARMUP_STEPS + 4
    assert task.iteration == steps_done and task.ema_updates == steps_done
    assert (
        task.ema_clock.item() == steps_done and task.generator_ema.n_averaged.item() == steps_done
    )
    assert not torch.equal(bn_before, task.generator.project[1].running_mean)
    for before, after in zip(weights_before, task.discriminator.parameters(), strict=True):
        assert not torch.equal(before, after)
    ema_now = list(task.generator_ema.module.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(ema_before, ema_now, strict=True))
