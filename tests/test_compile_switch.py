"""``trainer.compile`` per network or per step: its settings checked before any data, its
checkpoints plain, its steps those of the eager ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from aegan.engine import load_checkpoint
from aegan.errors import ConfigError
from aegan.speed.compile import compile_mode_kwarg
from aegan.train import train
from conftest import (
    TINY_AE,
    TINY_GAN,
    built,
    run_steps,
    synthetic_data,
    weights,
)


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
    results, initial = {}, {}
    for scope in ([], ["trainer.compile=default", "trainer.compile_scope=step"]):
        torch.manual_seed(0)
        overrides = [*TINY_AE, *scope, f"trainer.direct_optimizer_step={direct_step}"]
        _, task, _, step = built(overrides, tmp_path, data=data)
        initial[bool(scope)] = {name: w.clone() for name, w in task.net.state_dict().items()}
        results[bool(scope)] = (task, run_steps(step, data, 4))
    (eager, eager_stats), (compiled, compiled_stats) = results[False], results[True]
    for eager_step, compiled_step in zip(eager_stats, compiled_stats, strict=True):
        assert compiled_step["train/loss"] == pytest.approx(eager_step["train/loss"], rel=1e-5)
    # Adam stepped (the loss of 4 batches of noise need not fall)
    moved = [not torch.equal(w, initial[False][name]) for name, w in eager.net.state_dict().items()]
    assert any(moved)
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
