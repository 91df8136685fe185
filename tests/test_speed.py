"""The speed switches (README "Performance"): fused/foreach Adam, channels_last, fast dropout,
torch.compile per network or per step, cudnn.benchmark / CUDA graphs (GPU tests), no host sync in the
training step, the cost of logging and validation, and the benchmark's rows."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import open_dict
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from aegan.data import ImageData
from aegan.data.batches import normalized_batches
from aegan.engine import Amp, ConfigError, Progress, load_checkpoint
from aegan.engine.checkpoint import load_module_state
from aegan.engine.loop import StepAccumulator, checkpoint_state, run_step
from aegan.engine.speed import (
    FastDropout,
    NetworkWrapper,
    accelerate,
    compile_mode_kwarg,
    eval_batch_size,
    evaluation_threads,
    keep_mask,
    use_fast_dropout,
)
from aegan.models import Discriminator
from aegan.tasks import build_task
from aegan.tasks.gan import ema_update_
from aegan.train import train
from conftest import REPO, TINY_AE, TINY_GAN, compose_config

CPU = torch.device("cpu")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def synthetic_data(n: int = 256, shape: tuple[int, int, int] = (1, 28, 28)) -> ImageData:
    """Random uint8 images: the mechanics of a step, not learning (no files needed)."""
    images = torch.randint(0, 256, (n, *shape), dtype=torch.uint8)
    labels = torch.zeros(n, dtype=torch.long)
    return ImageData("synthetic", images, labels, images[:64], labels[:64], images[:64],
                     labels[:64], (), "test")  # fmt: skip


def built(overrides: list[str], tmp_path: Path, device=CPU, data: ImageData | None = None):
    """(cfg, task, amp) for ``overrides``, accelerated as ``aegan.train`` does."""
    cfg = compose_config(overrides, tmp_path / "run")
    data = (data or synthetic_data()).to(device)
    task = build_task(cfg.model, data, device, projector_samples=0)
    accelerate(task, cfg.trainer, device)
    task.train()
    return (
        cfg,
        task,
        Amp(cfg.trainer.precision, device, skip_nonfinite=cfg.trainer.on_nonfinite == "skip"),
    )


def steps(task, amp, data: ImageData, n: int, batch_size: int = 64) -> StepAccumulator:
    stats = StepAccumulator(data.train_images.device)
    for i in range(n):
        run_step(task, amp, data.train_images[i * batch_size : (i + 1) * batch_size], stats, i)
    return stats


# ------------------------------------------------------------------ fused / foreach Adam


def test_adam_is_fused_by_default_and_foreach_on_request(tmp_path):
    data = synthetic_data()
    for overrides, fused, foreach in [
        ([], True, None),
        (["model.optimizer.fused=false", "model.optimizer.foreach=true"], False, True),
    ]:
        cfg = compose_config(TINY_AE + overrides, tmp_path / "run")
        optimizer = build_task(cfg.model, data, CPU).optimizers["optimizer"]
        assert (optimizer.defaults["fused"], optimizer.defaults["foreach"]) == (fused, foreach)
    gan = build_task(compose_config(TINY_GAN, tmp_path / "gan").model, data, CPU)
    assert all(o.defaults["fused"] for o in gan.optimizers.values())


def test_fused_and_foreach_together_is_one_clear_error(tmp_path):
    cfg = compose_config(TINY_AE + ["model.optimizer.foreach=true"], tmp_path / "run")
    with pytest.raises(ConfigError, match="model.optimizer.fused=true and model.optimizer.foreach"):
        build_task(cfg.model, synthetic_data(), CPU)


def test_fused_foreach_and_for_loop_adam_train_alike(make_cfg):
    tiny = [*TINY_AE, "data.subset=640", "logger.enabled=false"]
    runs = {
        "fused": [],
        "foreach": ["model.optimizer.fused=false", "model.optimizer.foreach=true"],
        "for-loop": ["model.optimizer.fused=false"],
    }
    weights, mse = {}, {}
    for name, overrides in runs.items():
        cfg = make_cfg(*tiny, *overrides, run=name)
        mse[name] = train(cfg)["val/mse"]
        state = load_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.pt")
        weights[name] = state["modules"]["autoencoder"]
    for name in ("foreach", "for-loop"):
        assert mse[name] == pytest.approx(mse["fused"], rel=1e-4)
        for key, value in weights["fused"].items():
            assert torch.allclose(weights[name][key], value, rtol=1e-4, atol=1e-6), (name, key)


# ------------------------------------------------------------------ channels_last


def test_channels_last_reaches_the_weights_and_every_batch(tmp_path, monkeypatch, one_thread):
    cfg, task, amp = built(TINY_GAN + ["trainer.channels_last=true"], tmp_path)
    for module in task.modules.values():
        for p in module.parameters():
            if p.dim() == 4:
                assert p.is_contiguous(memory_format=torch.channels_last)
    seen = []
    original = type(task).train_step
    monkeypatch.setattr(type(task), "train_step",
                        lambda self, x, amp: seen.append(x.stride()) or original(self, x, amp))  # fmt: skip
    data = synthetic_data(128, (3, 32, 32))  # 3 channels: the layouts differ
    cfg = compose_config(TINY_GAN + ["data=cifar10", "trainer.channels_last=true"], tmp_path / "c")
    task = build_task(cfg.model, data, CPU)
    accelerate(task, cfg.trainer, CPU)
    steps(task, amp, data, 2)
    assert seen and all(s == (3 * 32 * 32, 1, 32 * 3, 3) for s in seen)  # NHWC strides


def test_channels_last_gan_run_saves_plain_loadable_checkpoints(tmp_path):
    run_dir = tmp_path / "run"
    cfg = compose_config(TINY_GAN + ["trainer.channels_last=true", "data.subset=256",
                                     "model.fd_samples=200", "logger.enabled=false"], run_dir)  # fmt: skip
    metrics = train(cfg)
    assert metrics["train/steps"] == 4 and all(v == v for v in metrics.values())
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    fresh = build_task(cfg.model, synthetic_data(), CPU)  # contiguous, as load_run builds it
    for name, module in fresh.modules.items():
        load_module_state(module, state["modules"][name], name=name, path="last.pt")
    resumed = train(compose_config(
        TINY_GAN + ["trainer.channels_last=true", "data.subset=256", "model.fd_samples=200",
                    "logger.enabled=false", "trainer.epochs=2", f"trainer.resume={run_dir}"],
        tmp_path / "resumed",
    ))  # fmt: skip
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
    assert dropout(x) is x or torch.equal(dropout(x), x)


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


def test_compile_mode_is_validated(make_cfg):
    with pytest.raises(ConfigError, match="trainer.compile='fast'"):
        train(make_cfg(*TINY_AE, "trainer.compile=fast"))


def test_network_wrapper_compiles_and_wraps_once():
    net = nn.Linear(2, 2)
    wrap = NetworkWrapper(ddp=lambda m: nn.Sequential(m), compile_mode="none")
    assert wrap(net) is wrap(net) and isinstance(wrap(net), nn.Sequential)
    assert wrap(net, sync_gradients=False) is net  # no DDP for a forward without D gradients
    compiled = NetworkWrapper(compile_mode="default")(net)
    assert compiled._orig_mod is net and compiled is not net


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
    cfg = make_cfg(
        *tiny, "trainer.compile=default", f"trainer.compile_scope={scope}", run="compiled"
    )
    metrics = train(cfg)
    assert metrics["train/steps"] == 10
    assert metrics["val/mse"] == pytest.approx(eager["val/mse"], rel=1e-3)  # the same training
    state = load_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.pt")
    assert not any("_orig_mod" in key for key in state["modules"]["autoencoder"])


@pytest.mark.parametrize("direct_step", [True, False])
def test_compiled_autoencoder_step_matches_the_eager_step(tmp_path, one_thread, direct_step):
    # compile_scope=step: normalisation, forward, backward and fused Adam in compiled graphs;
    # the same updates as eager, the same optimizer state (checkpoints interchangeable);
    # with the direct optimizer step (run eagerly between graphs) and with torch's (traced)
    data = synthetic_data()
    tasks = {}
    for scope_overrides in ([], ["trainer.compile=default", "trainer.compile_scope=step"]):
        torch.manual_seed(0)
        overrides = [*TINY_AE, *scope_overrides, f"trainer.direct_optimizer_step={direct_step}"]
        cfg, task, amp = built(overrides, tmp_path, data=data)
        means, bad, _ = steps(task, amp, data, 4).read()
        assert bad == 0
        tasks[bool(scope_overrides)] = (task, means)
    (eager, eager_means), (compiled, compiled_means) = tasks[False], tasks[True]
    assert compiled.fast_train_batch is not None and eager.fast_train_batch is None
    assert compiled_means["train/loss"] == pytest.approx(eager_means["train/loss"], rel=1e-5)
    compiled_weights = compiled.net.state_dict()
    for name, weight in eager.net.state_dict().items():
        torch.testing.assert_close(compiled_weights[name], weight, rtol=1e-4, atol=1e-6, msg=name)
    eager_state = eager.optimizers["optimizer"].state_dict()["state"]
    compiled_state = compiled.optimizers["optimizer"].state_dict()["state"]
    assert compiled_state.keys() == eager_state.keys()
    assert all(compiled_state[i]["step"] == 4 for i in compiled_state)


def test_step_compile_refuses_the_gan_torchrun_and_unknown_scopes(tmp_path, make_cfg, monkeypatch):
    step = ["trainer.compile=default", "trainer.compile_scope=step"]
    with pytest.raises(ConfigError, match="compile_scope=step is not supported by GanTask"):
        train(make_cfg(*TINY_GAN, *step))  # before any data is read
    with pytest.raises(ConfigError, match="compile_scope=step is not supported by GanTask"):
        built(TINY_GAN + step, tmp_path)  # and where it is applied
    with pytest.raises(ConfigError, match="trainer.compile_scope='graph'"):
        train(make_cfg(*TINY_AE, "trainer.compile_scope=graph"))
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="does not run under torchrun"):
        train(make_cfg(*TINY_AE, *step))


@pytest.mark.slow
def test_compiled_gan_steps_generator_and_discriminator_separately(tmp_path, one_thread):
    # a whole compiled GAN step fails ("backward through the graph a second time"): each
    # network is compiled alone; R1's double backward takes the plain discriminator
    cfg, task, amp = built(TINY_GAN + ["trainer.compile=default", "model.r1_gamma=1"], tmp_path)
    assert task.forward_discriminator is task.frozen_discriminator  # one compiled D
    assert task.forward_generator._orig_mod is task.generator
    # and the step's arithmetic around them, with eager's results
    real, fake = torch.randn(2, 8, requires_grad=True)
    compiled_out = task.discriminator_objective(real, fake)
    eager_out = task._discriminator_objective(real, fake)
    torch.testing.assert_close(compiled_out, eager_out)
    assert compiled_out[0].requires_grad
    assert task.ema_update_ is not ema_update_
    ema, live = [torch.ones(3), torch.zeros(2, 2)], [torch.zeros(3), torch.ones(2, 2)]
    clock = torch.zeros(())
    task.ema_update_(ema, live, clock, 0.999)  # decay (1 + 0) / (10 + 0) = 0.1
    torch.testing.assert_close(ema, [torch.full((3,), 0.1), torch.full((2, 2), 0.9)])
    assert clock.item() == 1
    stats = steps(task, amp, synthetic_data(), 3)
    means, bad, _ = stats.read()
    assert bad == 0 and means["train/r1_penalty"] >= 0
    state = checkpoint_state(task, amp, Progress(), {})
    assert not any("_orig_mod" in k for m in state["modules"].values() for k in m)


# ------------------------------------------------------------------ no host sync


class HostSyncDetector(TorchDispatchMode):
    """Records ops that make the host wait for the device on CUDA: reading a value
    (``.item()``, ``bool()``, ``.tolist()``) or producing a data-dependent shape."""

    SYNCING = {"aten::_local_scalar_dense", "aten::is_nonzero", "aten::equal", "aten::nonzero",
               "aten::masked_select", "aten::_unique2", "aten::unique_consecutive",
               "aten::unique_dim", "aten::repeat_interleave"}  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._schema.name
        bool_index = name in ("aten::index", "aten::index_put_", "aten::index_put") and any(
            isinstance(t, torch.Tensor) and t.dtype == torch.bool
            for t in (args[1] if len(args) > 1 and isinstance(args[1], (list, tuple)) else [])
        )
        if name in self.SYNCING or bool_index:
            self.found.append(name)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize(
    "model",
    [
        TINY_AE,
        [*TINY_AE, "trainer.on_nonfinite=skip"],
        TINY_GAN,
        [*TINY_GAN, "trainer.channels_last=true", "trainer.on_nonfinite=skip"],
        [*TINY_GAN, "model.loss=wgan_gp", "model.n_critic=2"],
        [*TINY_GAN, "model.loss=hinge", "model.r1_gamma=1", "trainer.precision=fp32"],
    ],
    ids=["ae", "ae_skip", "gan", "gan_channels_last_skip", "gan_wgan_gp", "gan_hinge_r1"],
)
def test_training_step_never_waits_for_the_device(model, tmp_path, one_thread):
    cfg, task, amp = built(model, tmp_path)
    data = synthetic_data()
    steps(task, amp, data, 1)  # optimizer state is created at the first step
    stats = StepAccumulator(CPU)
    with HostSyncDetector() as detector:
        for i in range(2):
            run_step(task, amp, data.train_images[64 * i : 64 * (i + 1)], stats, i)
    assert detector.found == []
    stats.read()  # the one sync, every logger.log_every_steps steps


def test_scalars_are_buffered_and_read_in_one_go():
    stats = StepAccumulator(CPU)
    stats.ROWS = 3  # a new device buffer every 3 steps
    for step in range(7):
        loss = torch.tensor(float("nan") if step in (4, 5) else step, dtype=torch.float32)
        stats.add({"train/loss": loss, "train/other": torch.tensor(1.0)}, step)
    means, bad, first_bad = stats.read()
    assert (bad, first_bad) == (2, 4)
    assert means == {"train/loss": (0 + 1 + 2 + 3 + 6) / 7, "train/other": 5 / 7}
    assert stats.read() == ({}, 0, -1)


def test_scalars_with_new_keys_or_a_gap_in_steps_are_folded_first():
    stats = StepAccumulator(CPU)
    stats.add({"a": torch.tensor(1.0)}, 0)
    stats.add({"a": torch.tensor(3.0), "b": torch.tensor(float("inf"))}, 1)  # new keys
    stats.add({"a": torch.tensor(5.0), "b": torch.tensor(2.0)}, 7)  # a gap: steps 2-6
    means, bad, first_bad = stats.read()
    assert (bad, first_bad) == (1, 1)  # the step numbers survive both folds
    assert means == {"a": (1 + 5) / 3, "b": 2 / 3}


# ------------------------------------------------------------------ cost of logging


def test_epoch_log_reports_the_cost_of_logging_and_validation(make_cfg):
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger = logging.getLogger("aegan.engine.loop")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        train(make_cfg(*TINY_AE, "data.subset=640"))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    pattern = r"training ([\d.]+) s; logging and validation ([\d.]+) s = ([\d.]+)%"
    epochs = [r for r in records if r.startswith("epoch 1 time:")]
    totals = [r for r in records if r.startswith("training ")]  # the whole run, at its end
    assert len(epochs) == 1 and len(totals) == 1
    epoch, total = re.search(pattern, epochs[0]), re.search(pattern, totals[0])
    assert epoch and float(epoch[1]) > 0 and float(epoch[3]) >= 0
    assert total and float(total[3]) == pytest.approx(float(epoch[3]), abs=0.01)  # one epoch


# ------------------------------------------------------------------ the benchmark


def test_bench_prints_one_row_per_configuration(tmp_path):
    from hydra import compose, initialize_config_dir

    from aegan.bench import benchmark
    from conftest import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="bench", overrides=[
            "trainer.device=cpu", "data.subset=512", "steps=2", "warmup=1", "repeats=1",
            "threads=[1]", "channels_last=[false,true]",
            "variants={foreach:['model.optimizer.fused=false','model.optimizer.foreach=true']}",
        ])  # fmt: skip
    with open_dict(cfg):
        cfg.paths.data_dir = str(tmp_path / "data")
    rows = benchmark(cfg)
    assert [(r["variant"], r["channels_last"]) for r in rows] == [
        ("base", False),
        ("base", True),
        ("foreach", False),
        ("foreach", True),
    ]
    for row in rows:
        assert row["compile"] == "none" and row["threads"] == 1 and row["device"] == "cpu"
        assert row["device_name"] and row["ratio"] > 0 and row["project_images_per_sec"] > 0
    assert [r["optimizer"] for r in rows] == ["fused", "fused", "foreach", "foreach"]


def test_bench_reports_a_configuration_that_fails_and_times_the_rest(tmp_path, monkeypatch):
    """A compile error in one configuration (no C++ compiler, an older torch) costs that row
    only: it carries the error, the others their figures."""
    from hydra import compose, initialize_config_dir

    import aegan.bench as bench
    from conftest import CONF_DIR

    built_step = bench.project_step

    def step_failing_with_channels_last(cfg, data, device):
        step = built_step(cfg, data, device)
        if not cfg.trainer.channels_last:
            return step

        def failing() -> None:
            raise RuntimeError("backend compiler failed\nlong traceback")

        return failing

    monkeypatch.setattr(bench, "project_step", step_failing_with_channels_last)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="bench", overrides=[
            "trainer.device=cpu", "data.subset=256", "steps=3", "plain_steps=1", "warmup=1",
            "repeats=1", "threads=[1]", "channels_last=[true,false]"])  # fmt: skip
    with open_dict(cfg):
        cfg.paths.data_dir = str(tmp_path / "data")
    failed, timed = bench.benchmark(cfg)
    assert failed["channels_last"] and failed["error"] == "RuntimeError: backend compiler failed"
    assert "ratio" not in failed
    assert "error" not in timed and timed["ratio"] > 0 and timed["project_images_per_sec"] > 0
    assert (timed["steps"], timed["plain_steps"]) == (3, 1)


def test_bench_crosses_compile_modes_with_scopes_once_each():
    from hydra import compose, initialize_config_dir

    from aegan.bench import configurations
    from conftest import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="bench", overrides=[
            "threads=[1]", "compile_modes=[none,default]", "compile_scopes=[network,step]"])  # fmt: skip
    labels = [(labels["compile"], labels["compile_scope"]) for labels, _ in configurations(cfg)]
    assert labels == [("none", None), ("default", "network"), ("default", "step")]


def test_gpu_check_script_plans_every_stage(tmp_path):
    import subprocess

    from conftest import REPO

    result = subprocess.run(
        ["bash", "scripts/gpu_check.sh", "--dry-run"], cwd=REPO, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "OUT": str(tmp_path)}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    plan = result.stdout
    assert "pip install" in plan and "--no-index" in plan and "-m gpu tests/test_speed.py" in plan
    for stage in ("model=autoencoder", "model=dcgan", "compile_modes=[reduce-overhead]",
                  "capture_step=[false,true]", "tests/test_capture.py"):  # fmt: skip
        assert stage in plan, stage
    assert "parity.py" not in plan  # on request only: STAGES=parity
    result = subprocess.run(
        ["bash", "scripts/gpu_check.sh", "--dry-run"], cwd=REPO, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "OUT": str(tmp_path), "STAGES": "parity"}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "scripts/parity.py gan --device cuda" in result.stdout
    assert "aegan.bench" not in result.stdout


# ------------------------------------------------------------------ CUDA only


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


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
@pytest.mark.parametrize("model", ["ae", "gan"])
def test_gpu_training_step_never_syncs(model, precision, tmp_path):
    cuda = torch.device("cuda")
    overrides = (TINY_AE if model == "ae" else TINY_GAN) + [
        "trainer.device=cuda", f"trainer.precision={precision}", "trainer.channels_last=true"]  # fmt: skip
    cfg, task, amp = built(overrides, tmp_path, cuda)
    data = synthetic_data().to(cuda)
    steps(task, amp, data, 2)  # lazy state (optimizer, cuDNN plans) before the check
    stats = StepAccumulator(cuda)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any op that makes the host wait raises
    try:
        for i in range(3):
            run_step(task, amp, data.train_images[64 * i : 64 * (i + 1)], stats, i)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    means, bad, _ = stats.read()
    assert bad == 0 and all(v == v for v in means.values())


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("model", ["ae", "ae_step", "gan"])
def test_gpu_cuda_graphs_with_batchnorm_and_plain_checkpoints(model, tmp_path):
    from torch._dynamo.utils import counters

    cuda = torch.device("cuda")
    scope = ["trainer.compile_scope=step"] if model == "ae_step" else []
    overrides = (TINY_GAN if model == "gan" else TINY_AE + scope) + [
        "trainer.device=cuda", "trainer.precision=bf16", "trainer.channels_last=true",
        "trainer.compile=reduce-overhead"]  # fmt: skip
    counters.clear()
    cfg, task, amp = built(overrides, tmp_path, cuda)
    assert task.cudagraphs and torch.backends.cudnn.benchmark
    data = synthetic_data().to(cuda)
    first = next(iter(task.modules.values()))
    before = {k: v.clone() for k, v in first.named_buffers()}
    means, bad, _ = steps(task, amp, data, 4).read()
    assert bad == 0 and all(v == v for v in means.values())
    assert counters["inductor"]["cudagraph_skips"] == 0, dict(counters["inductor"])
    if model == "gan":  # BatchNorm running statistics move inside the captured graphs
        after = dict(first.named_buffers())
        assert any(not torch.equal(before[k], after[k]) for k in before if "running_mean" in k)
    state = checkpoint_state(task, amp, Progress(), {})
    assert not any("_orig_mod" in k for m in state["modules"].values() for k in m)


def test_evaluation_threads_use_every_core_then_restore_the_training_count(one_thread):
    cores = len(os.sched_getaffinity(0))
    with evaluation_threads(CPU):
        assert torch.get_num_threads() == max(cores, 1)
    assert torch.get_num_threads() == 1
    with evaluation_threads(torch.device("meta")):  # not the CPU: untouched
        assert torch.get_num_threads() == 1


@pytest.mark.parametrize("loss, keys", [("mse", {"val/mse"}), ("bce", {"val/mse", "val/bce"})])
def test_autoencoder_validation_reports_the_objective_and_the_training_loss(
    loss, keys, tmp_path, one_thread
):
    data = synthetic_data()
    _, task, amp = built(TINY_AE + [f"model.loss={loss}"], tmp_path, data=data)
    task.eval()
    metrics = task.validate([data.val_images.float() / 255], amp)
    assert metrics.keys() == keys
    test = task.evaluate(data, amp)  # the final evaluation reports both
    if loss == "bce":
        assert metrics["val/bce"] == pytest.approx(test["test/bce"], rel=1e-6)  # same images
    assert metrics["val/mse"] == pytest.approx(test["test/mse"], rel=1e-6)


def test_validation_batch_is_chosen_per_device_and_leaves_the_metric_alone(tmp_path, one_thread):
    assert eval_batch_size(None, CPU) == 256  # cache-sized (see aegan.engine.speed)
    assert eval_batch_size(None, torch.device("cuda")) == 1000
    assert eval_batch_size(64, CPU) == 64  # trainer.eval_batch_size wins
    data = synthetic_data(n=1200)
    _, task, amp = built(TINY_AE, tmp_path, data=data)
    task.eval()
    images = data.train_images  # (1200, 1, 28, 28): several batches of each size
    by_batch = {
        size: task.validate(normalized_batches(images, size, "unit"), amp)["val/mse"]
        for size in (7, 256, 1000)
    }
    assert by_batch[7] == pytest.approx(by_batch[1000], rel=1e-6)
    assert by_batch[256] == pytest.approx(by_batch[1000], rel=1e-6)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("precisions=[fp8]", "trainer.precision='fp8' is not allowed"),
        ("batch_size=0", "data.batch_size=0 is not allowed"),  # once ignored as "unset"
        ("steps=-1", "steps=-1 is not allowed"),  # once timed, and reported as a row
        ("plain_steps=0", "plain_steps=0 is not allowed"),
    ],
)
def test_benchmark_cli_refuses_a_bad_setting_in_one_line(tmp_path, override, message):
    result = subprocess.run(
        [sys.executable, "-m", "aegan.bench", "model=autoencoder", override,
         f"hydra.run.dir={tmp_path}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-2000:]
    assert message in output and "Traceback" not in output
