"""The speed switches (``aegan.speed``): fused/foreach Adam, channels_last, fast dropout,
torch.compile per network or per step, cudnn.benchmark; none changes what is learned."""

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
from aegan.speed.compile import compile_mode_kwarg
from aegan.speed.dropout import FastDropout, keep_mask, use_fast_dropout
from aegan.tasks import build_task
from aegan.train import train
from conftest import CPU, TINY_AE, TINY_GAN, built, compose_config, synthetic_data, weights

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def run_steps(step, data, n: int, batch_size: int = 64) -> list[dict[str, float]]:
    """``n`` steps of ``step`` on consecutive batches; their scalars as floats."""
    out = []
    for i in range(n):
        stats = step(data.train_images[i * batch_size : (i + 1) * batch_size])
        out.append({k: v.item() for k, v in stats.items()})
    return out


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


# ------------------------------------------------------------------ torch.compile


@pytest.fixture
def no_data(monkeypatch):
    """Fails the test if a run reads its data: the checks come first."""
    monkeypatch.setattr("aegan.train.load_data", lambda *a, **k: pytest.fail("data was read"))


def test_compile_settings_are_checked_before_any_data(make_cfg, no_data):
    with pytest.raises(ConfigError, match="trainer.compile='fast' is not allowed"):
        train(make_cfg(*TINY_AE, "trainer.compile=fast"))
    with pytest.raises(ConfigError, match="trainer.compile_scope='graph' is not allowed"):
        train(make_cfg(*TINY_AE, "trainer.compile=default", "trainer.compile_scope=graph"))


def test_max_autotune_leaves_cuda_graphs_to_a_captured_step():
    # one CUDA graph per step: torch.compile's own graphs would be captured inside it
    assert compile_mode_kwarg("max-autotune") == "max-autotune"
    assert compile_mode_kwarg("max-autotune", captured=True) == "max-autotune-no-cudagraphs"
    assert compile_mode_kwarg("default", captured=True) is None


@pytest.mark.slow
@pytest.mark.parametrize("scope", ["network", "step"])
def test_compiled_autoencoder_run_keeps_plain_checkpoints(make_cfg, scope):
    tiny = [*TINY_AE, "data.subset=640", "logger.enabled=false"]
    eager = train(make_cfg(*tiny, run="eager"))
    cfg = make_cfg(*tiny, "trainer.compile=default", f"trainer.compile_scope={scope}", run="c")
    metrics = train(cfg)
    assert metrics["train/steps"] == 10
    assert metrics["val/mse"] == pytest.approx(eager["val/mse"], rel=1e-3)  # the same training
    state = load_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.pt")
    assert not any("_orig_mod" in key for key in weights(state, "autoencoder"))


@pytest.mark.parametrize("direct_step", [True, False])
def test_compiled_autoencoder_step_matches_the_eager_step(tmp_path, one_thread, direct_step):
    # compile_scope=step: normalisation, forward, backward and fused Adam in compiled graphs;
    # the same updates as eager, the same optimizer state (checkpoints interchangeable);
    # with the direct optimizer step (run eagerly between graphs) and with torch's (traced)
    data = synthetic_data()
    results = {}
    for scope in ([], ["trainer.compile=default", "trainer.compile_scope=step"]):
        torch.manual_seed(0)
        overrides = [*TINY_AE, *scope, f"trainer.direct_optimizer_step={direct_step}"]
        _, task, _, step = built(overrides, tmp_path, data=data)
        results[bool(scope)] = (task, run_steps(step, data, 4))
    (eager, eager_stats), (compiled, compiled_stats) = results[False], results[True]
    for eager_step, compiled_step in zip(eager_stats, compiled_stats, strict=True):
        assert compiled_step["train/loss"] == pytest.approx(eager_step["train/loss"], rel=1e-5)
    assert eager_stats[3]["train/loss"] < eager_stats[0]["train/loss"]  # Adam stepped
    compiled_weights = compiled.net.state_dict()
    for name, weight in eager.net.state_dict().items():
        torch.testing.assert_close(compiled_weights[name], weight, rtol=1e-4, atol=1e-6, msg=name)
    eager_state = eager.optimizers["optimizer"].state_dict()["state"]
    compiled_state = compiled.optimizers["optimizer"].state_dict()["state"]
    assert compiled_state.keys() == eager_state.keys()
    for index, entry in eager_state.items():
        assert compiled_state[index]["step"] == entry["step"] == 4
        torch.testing.assert_close(compiled_state[index]["exp_avg_sq"], entry["exp_avg_sq"])


def test_step_compile_refuses_the_gan_and_torchrun_before_any_data(make_cfg, monkeypatch, no_data):
    step = ["trainer.compile=default", "trainer.compile_scope=step"]
    with pytest.raises(ConfigError, match="compile_scope=step cannot be used with GanTask: its"):
        train(make_cfg(*TINY_GAN, *step))
    torchrun = {"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}
    for name, value in torchrun.items():  # what torchrun sets
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="does not run under torchrun"):
        train(make_cfg(*TINY_AE, *step))


@pytest.mark.slow
def test_compiled_gan_with_r1_trains_and_saves_plain_weights(tmp_path, one_thread):
    # each network compiled in place; R1's gradient of a gradient runs the critic eagerly
    data = synthetic_data()
    results = {}
    for compiled in (False, True):
        torch.manual_seed(0)
        overrides = [
            *TINY_GAN,
            "trainer.precision=fp32",
            "model.r1_gamma=1",
            "model.discriminator.dropout=0",  # compiled dropout draws other masks
        ]
        _, task, _, step = built(overrides + (["trainer.compile=default"] if compiled else []),
                                 tmp_path, data=data)  # fmt: skip
        results[compiled] = (task, run_steps(step, data, 3))
    eager_stats, compiled_stats = results[False][1], results[True][1]
    for eager_step, compiled_step in zip(eager_stats, compiled_stats, strict=True):
        assert compiled_step["train/r1_penalty"] > 0
        for key in ("train/d_loss", "train/r1_penalty", "train/g_loss"):
            assert compiled_step[key] == pytest.approx(eager_step[key], rel=1e-3, abs=1e-5), key
    state = results[True][0].networks["discriminator"].state_dict()
    assert not any("_orig_mod" in k for k in state)


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
