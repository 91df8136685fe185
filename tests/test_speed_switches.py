"""The speed switches (``aegan.speed``): fused/foreach Adam, channels_last, fast dropout,
cudnn.benchmark; none changes what is learned (torch.compile: ``test_compile_switch.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from aegan.amp import Amp
from aegan.data import load_data
from aegan.engine import load_checkpoint
from aegan.engine.state import load_network_state
from aegan.errors import ConfigError
from aegan.models import Discriminator
from aegan.speed import denormal_mode, denormals_flushed
from aegan.speed.dropout import FastDropout, keep_mask, use_fast_dropout
from aegan.tasks import build_task
from aegan.train import train
from conftest import (
    CPU,
    TINY_AE,
    TINY_GAN,
    built,
    compose_config,
    run_steps,
    synthetic_data,
    weights,
)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


# ------------------------------------------------------------------ denormals


def test_denormal_mode_flushes_in_its_block_and_restores_the_mode_it_found():
    assert not denormals_flushed()  # the process's default
    with denormal_mode(True):
        assert denormals_flushed() and (torch.tensor([1e-39]) * 1.0).item() == 0.0
        with denormal_mode(False):
            assert not denormals_flushed()
        assert denormals_flushed()
    assert not denormals_flushed()


def test_a_run_in_process_flushes_by_default_and_leaves_the_mode_as_it_was(make_cfg, monkeypatch):
    import aegan.train

    seen = []  # the mode fit runs under

    def watched_fit(*args, **kwargs):
        seen.append(denormals_flushed())
        return fit(*args, **kwargs)

    fit = aegan.train.fit
    monkeypatch.setattr(aegan.train, "fit", watched_fit)
    train(make_cfg(*TINY_AE, run="on"))
    train(make_cfg(*TINY_AE, "trainer.flush_denormal=false", run="off"))
    assert seen == [True, False]
    assert not denormals_flushed()


def test_adams_moments_of_a_weight_without_gradient_decay_to_zero(tmp_path):
    """A first-layer weight of a pixel that is 0 in every image gets no gradient: its first
    moment shrinks by beta1 each step, through the denormals (off) or straight to 0 (on)."""
    data = synthetic_data()
    data.train_images[:, :, 0, 0] = 0  # a pixel that is always black
    for flush in (False, True):
        _, task, _, step = built(TINY_AE, tmp_path / str(flush))
        with denormal_mode(flush):
            step(data.train_images[:64])  # Adam's state exists from here on
            first = task.net.encoder[1].weight  # (64, 784): column 0 reads pixel (0, 0)
            moment = task.optimizers["optimizer"].state[first]["exp_avg"][:, 0]
            moment.fill_(1e-37)
            for i in range(1, 40):  # 0.9 ** 39 * 1e-37 = 1.6e-39
                step(data.train_images[64 * (i % 4) : 64 * (i % 4 + 1)])
            # read in the mode it ran in: with flushing on, a denormal also reads as 0
            if flush:
                assert (moment == 0).all()
            else:
                assert ((moment > 0) & (moment < 1.2e-38)).all()


# ------------------------------------------------------------------ fused / foreach Adam


def test_adam_is_fused_by_default_and_foreach_on_request(tmp_path):
    shape = (1, 28, 28)
    for overrides, fused, foreach in [
        ([], True, None),
        (["model.optimizer.fused=false", "model.optimizer.foreach=true"], False, True),
    ]:
        cfg = compose_config(TINY_AE + overrides, tmp_path / "run")
        optimizer = build_task(cfg.model, shape, CPU).optimizers["optimizer"]
        assert (optimizer.defaults["fused"], optimizer.defaults["foreach"]) == (fused, foreach)
    gan = build_task(compose_config(TINY_GAN, tmp_path / "gan").model, shape, CPU)
    assert all(o.defaults["fused"] for o in gan.optimizers.values())


def test_fused_and_foreach_together_is_one_clear_error(tmp_path):
    cfg = compose_config(TINY_AE + ["model.optimizer.foreach=true"], tmp_path / "run")
    with pytest.raises(ConfigError, match="model.optimizer.fused=true and model.optimizer.foreach"):
        build_task(cfg.model, (1, 28, 28), CPU)


def test_fused_foreach_and_for_loop_adam_train_alike(make_cfg):
    tiny = [*TINY_AE, "data.subset=640", "logger.enabled=false"]
    runs = {
        "fused": [],
        "foreach": ["model.optimizer.fused=false", "model.optimizer.foreach=true"],
        "for-loop": ["model.optimizer.fused=false"],
    }
    learned, mse = {}, {}
    for name, overrides in runs.items():
        cfg = make_cfg(*tiny, *overrides, run=name)
        mse[name] = train(cfg)["val/mse"]
        state = load_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.pt")
        learned[name] = weights(state, "autoencoder")
    torch.manual_seed(0)  # the runs' seed: their initial weights
    untrained = build_task(cfg.model, (1, 28, 28), CPU)
    data = load_data(cfg.data, data_dir=cfg.paths.data_dir)
    assert mse["fused"] < 0.95 * untrained.validate([data.val_images], Amp("fp32", CPU))["val/mse"]
    for name in ("foreach", "for-loop"):
        assert mse[name] == pytest.approx(mse["fused"], rel=1e-4)
        for key, value in learned["fused"].items():
            assert torch.allclose(learned[name][key], value, rtol=1e-4, atol=1e-6), (name, key)


# ------------------------------------------------------------------ channels_last


def test_channels_last_reaches_the_weights_and_every_batch(tmp_path, monkeypatch, one_thread):
    data = synthetic_data(128, (3, 32, 32))  # 3 channels: the layouts differ
    seen = []
    from aegan.tasks.gan import GanTask

    original = GanTask.train_step
    monkeypatch.setattr(GanTask, "train_step",
                        lambda self, x, amp: seen.append(x.stride()) or original(self, x, amp))  # fmt: skip
    _, task, _, step = built(
        TINY_GAN + ["data=cifar10", "trainer.channels_last=true"], tmp_path, data=data
    )
    for network in task.networks.values():
        for p in network.parameters():
            if p.dim() == 4:
                assert p.is_contiguous(memory_format=torch.channels_last)
    run_steps(step, data, 2)
    assert seen == [(3 * 32 * 32, 1, 32 * 3, 3)] * 2  # NHWC strides


def test_channels_last_gan_run_saves_plain_loadable_checkpoints(tmp_path):
    run_dir = tmp_path / "run"
    tiny = TINY_GAN + ["trainer.channels_last=true", "data.subset=256", "model.fd_samples=200",
                       "logger.enabled=false"]  # fmt: skip
    cfg = compose_config(tiny, run_dir)
    metrics = train(cfg)
    assert metrics["train/steps"] == 4
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    fresh = build_task(cfg.model, (1, 28, 28), CPU)  # contiguous, as load_run builds it
    for name, network in fresh.networks.items():
        load_network_state(network, weights(state, name), name=name, path="last.pt")
        for key, value in network.state_dict().items():
            assert torch.equal(value, weights(state, name)[key])
    resumed = train(
        compose_config(
            tiny + ["trainer.epochs=2", f"trainer.resume={run_dir}"], tmp_path / "resumed"
        )
    )
    assert resumed["train/steps"] == 8


# ------------------------------------------------------------------ fast dropout


def test_fast_dropout_is_dropout():
    torch.manual_seed(0)
    x = torch.randn(64, 32, 16, 16, requires_grad=True)
    dropout = FastDropout(0.3)
    y = dropout(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.003  # 524k elements: sd 0.0006
    scale = 65536 / (65536 - round(0.3 * 65536))
    assert torch.allclose(y[kept], x[kept] * scale)
    assert abs(scale - 1 / 0.7) < 1e-4
    y.sum().backward()
    assert torch.equal(x.grad, kept.float() * scale)  # the gradient is the same mask
    # a fresh mask per call, the same mask for the same seed
    assert not torch.equal(dropout(x) != 0, kept)
    torch.manual_seed(1)
    first = dropout(x)
    torch.manual_seed(1)
    assert torch.equal(first, dropout(x))
    # no spatial or channel structure: each channel keeps ~70%
    per_channel = kept.float().mean(dim=(0, 2, 3))
    assert per_channel.min() > 0.68 and per_channel.max() < 0.72
    dropout.eval()
    assert torch.equal(dropout(x), x)


def test_fast_dropout_keeps_the_layout_dtype_and_edge_cases():
    x = torch.randn(8, 16, 7, 7).contiguous(memory_format=torch.channels_last)
    y = FastDropout(0.5)(x.bfloat16())
    assert y.dtype == torch.bfloat16 and y.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(FastDropout(0.0)(x), x)
    assert torch.equal(FastDropout(1.0)(x), torch.zeros_like(x))
    mask = keep_mask(x, 0.25)
    assert mask.stride() == x.stride()
    assert set(mask.unique().tolist()) == {0.0, torch.tensor(4 / 3).item()}


def test_use_fast_dropout_swaps_only_dropout_and_keeps_the_state_dict():
    torch.manual_seed(0)
    discriminator = Discriminator()
    before = discriminator.state_dict()
    assert use_fast_dropout(discriminator) == 2
    assert sum(isinstance(m, FastDropout) for m in discriminator.modules()) == 2
    assert discriminator.state_dict().keys() == before.keys()
    assert use_fast_dropout(discriminator) == 0  # idempotent


# ------------------------------------------------------------------ cudnn


def test_cudnn_benchmark_is_left_alone_on_the_cpu(tmp_path):
    before = torch.backends.cudnn.benchmark
    built(TINY_GAN + [f"trainer.cudnn_benchmark={not before}"], tmp_path)
    assert torch.backends.cudnn.benchmark == before


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("setting", [True, False])
def test_gpu_cudnn_benchmark_follows_the_config(setting, tmp_path):
    cuda = torch.device("cuda")
    built(TINY_GAN + ["trainer.device=cuda", f"trainer.cudnn_benchmark={setting}"], tmp_path, cuda)
    assert torch.backends.cudnn.benchmark is setting
