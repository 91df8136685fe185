"""Training and reading runs back in a process that goes on (a notebook, a script, a sweep's
jobs one after another): the process is left as the call found it, however the call ends."""

from __future__ import annotations

import functools
import logging
import os
import random
import signal
import sys
import warnings

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf, open_dict
from resume_checks import in_training_forward

import aegan
from aegan.engine.interrupt import TrainingInterrupted
from aegan.errors import CheckpointError
from aegan.metrics.classifier import train_classifier
from aegan.speed import denormals_flushed
from aegan.train import train
from conftest import RESUME, built, compose_config, run_steps, synthetic_data, value_refusal


def process_state() -> dict:
    """What a run may change for the whole process, as comparable values."""
    return {
        "threads": torch.get_num_threads(),
        "matmul_precision": torch.get_float32_matmul_precision(),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "python_rng": random.getstate(),
        "numpy_rng": repr(np.random.get_state()),
        "torch_rng": torch.get_rng_state().tolist(),
        "sigint": signal.getsignal(signal.SIGINT),
        "sigterm": signal.getsignal(signal.SIGTERM),
        "flush_denormal": denormals_flushed(),
        "default_dtype": torch.get_default_dtype(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "root_logging": (list(logging.getLogger().handlers), logging.getLogger().level),
        "aegan_logging": (
            list(logging.getLogger("aegan").handlers),
            logging.getLogger("aegan").level,
        ),
        "warning_filters": list(warnings.filters),
        "folder": os.getcwd(),
        "argv": list(sys.argv),
        "environment": dict(os.environ),
    }


@pytest.fixture
def own_settings():
    """Settings of the caller's that no run uses: 3 threads, full-precision matmuls, seeded
    generators; the test's process gets its own back after."""
    threads, precision = torch.get_num_threads(), torch.get_float32_matmul_precision()
    torch.set_num_threads(3)
    torch.set_float32_matmul_precision("highest")
    random.seed(11)
    np.random.seed(12)
    torch.manual_seed(13)
    yield
    torch.set_num_threads(threads)
    torch.set_float32_matmul_precision(precision)


def fails() -> None:
    raise RuntimeError("a step failed")


ENDINGS = {
    "returns": (None, None),
    "stopped by Ctrl-C": (lambda: signal.raise_signal(signal.SIGINT), TrainingInterrupted),
    "fails in a step": (fails, RuntimeError),
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_train_leaves_the_process_as_it_found_it(tmp_path, own_settings, ending):
    """train(cfg) set one thread (the autoencoder's), TF32 matmuls and seeded every
    generator, and left them so: a sweep's next job in the process (a DCGAN) trained on one
    thread with other figures than alone, and a notebook's draws after a run were the run's."""
    action, raised = ENDINGS[ending]
    cfg = compose_config([*RESUME, "data.subset=256"], tmp_path / "run")
    before = process_state()
    if action is None:
        train(cfg)
    else:
        with in_training_forward(1, action), pytest.raises(raised):
            train(cfg)
    after = process_state()
    assert [key for key in before if after[key] != before[key]] == []


def test_load_run_leaves_the_random_generators_as_it_found_them(ae):
    """Building the run's networks drew their initial weights from torch's generator, which
    the loaded weights then replace: a notebook's seeded draws after load_run differed."""
    torch.manual_seed(5)
    expected = torch.rand(4)
    torch.manual_seed(5)
    aegan.load_run(ae[0])
    assert torch.equal(torch.rand(4), expected)


def test_training_the_domain_classifier_leaves_the_random_generators_as_it_found_them():
    """It seeds torch's generator for its weights and dropout: an evaluation from a notebook
    reseeded the notebook's draws."""
    images = torch.randint(0, 256, (64, 1, 8, 8), dtype=torch.uint8)
    torch.manual_seed(5)
    expected = torch.rand(4)
    torch.manual_seed(5)
    train_classifier(images, torch.arange(64) % 2, num_classes=2, epochs=1, progress=False)
    assert torch.equal(torch.rand(4), expected)


def test_a_run_loaded_by_a_relative_path_is_found_after_a_change_of_folder(ae, monkeypatch):
    """Run.path, Run.checkpoint and the config's paths.output_dir were the relative path as
    given: after os.chdir they named another folder, or none."""
    run_dir = ae[0]
    monkeypatch.chdir(run_dir.parent)
    run = aegan.load_run(run_dir.name)
    monkeypatch.chdir("/")
    assert run.path == run_dir and run.checkpoint == run_dir / "checkpoints" / "last.pt"
    assert run.config.paths.output_dir == str(run_dir)
    assert (run.path / "checkpoints" / "last.pt").is_file()


def test_a_relative_path_from_a_deleted_folder_is_one_line(tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    message = value_refusal(lambda: aegan.load_run("run"))
    assert message.startswith("path='run' is not allowed: it is relative, and the current folder")


@pytest.mark.parametrize("device", ["mps", "cpu:0", "cuda:99"])
def test_a_device_load_run_cannot_use_is_named_before_any_file_is_read(tmp_path, device):
    """The run was read first: a device refused after the checkpoint and the record, or
    the missing run named where the device was what the caller had to change."""
    message = value_refusal(lambda: aegan.load_run(tmp_path / "nope", device=device))
    assert message.startswith(f"device={device}") or message.startswith(f"device='{device}'")


@pytest.mark.parametrize("inside", ["metrics.json", "checkpoints/../metrics.json", "tb"])
def test_a_file_of_a_run_given_as_the_run_names_the_run(ae, inside, tmp_path):
    """It was "RUN/metrics.json: not a readable checkpoint (...)" or "no checkpoint at
    RUN/tb", with no word of the run folder to give: from load_run, as ``trainer.resume``
    and as ``aegan.evaluate run=`` (the same two reads as load_run's)."""
    (ae[0] / "tb").mkdir(exist_ok=True)  # as a run with its logger has it
    given = ae[0] / inside
    for read in (
        lambda: aegan.load_run(given),
        lambda: train(compose_config([*RESUME, f"trainer.resume={given}"], tmp_path / "b")),
    ):
        with pytest.raises(CheckpointError) as refused:
            read()
        message = str(refused.value)
        assert message.endswith(f"; it lies in the run {ae[0]}: give that folder instead")
        assert "\n" not in message


def test_train_leaves_the_callers_config_as_given(tmp_path):
    """train(cfg) wrote its resolved values into the caller's config (trainer.precision=auto
    became bf16 or fp32 by this machine, the paths absolute, and a resumed run's model settings
    added since were taken out): the same cfg, given another device, trained at the first's
    precision, not at auto's for that device."""
    cfg = compose_config([*RESUME, "data.subset=256", "trainer.precision=auto"], tmp_path / "run")
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "sub" / ".." / "run")  # as a user may write it
    given = OmegaConf.to_container(cfg, resolve=False)
    train(cfg)
    assert OmegaConf.to_container(cfg, resolve=False) == given


@pytest.mark.parametrize(
    ("call", "message"),
    [(lambda: aegan.config.compose_config("model=vae"), "overrides='model=vae' is not allowed: it must be a list of strings"),
     (lambda: aegan.config.compose_config([], searchpath="/tmp"), "searchpath='/tmp' is not allowed: it must be a list of strings"),
     (lambda: aegan.config.compose_config(["model.latnt_dim=3"]), "model.latnt_dim is not a setting; did you mean model.latent_dim?"),
     (lambda: aegan.config.compose_config(["model=vaee"]), "model=vaee: no such option; choose one of: aae, autoencoder,")],
)  # fmt: skip
def test_compose_config_given_a_mistake_says_it_in_one_line(call, message):
    """A string of overrides was parsed a character at a time ('m': missing EQUAL), a string
    searchpath read as one folder per character with a warning each, and a misspelt key or
    option was Hydra's exception of several lines."""
    assert value_refusal(call).startswith(message)


@pytest.mark.usefixtures("one_thread")
def test_each_compiled_run_in_a_process_is_compiled(tmp_path, monkeypatch):
    """Dynamo keeps ``recompile_limit`` (8) compiled versions of a function and runs it
    uncompiled after, and each run's networks are new objects: from the 9th compiled run in
    a process (a notebook's loop, a sweep's jobs one after another) training ran uncompiled,
    said only in torch's own log. Here at a limit of 1, and made an error: the 2nd run."""
    # Dynamo's cache is the question, not Inductor's code: its eager backend takes a second
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    data = synthetic_data(64)
    compiled = [*RESUME, "trainer.compile=default", "trainer.compile_scope=step"]
    with torch._dynamo.config.patch(recompile_limit=1, fail_on_recompile_limit_hit=True):
        for run in ("first", "second"):
            step = built(compiled, tmp_path / run, data=data)[3]
            assert run_steps(step, data, 1)


@pytest.mark.parametrize("given", [None, "trainer.epochs=1", ["trainer.epochs=1"], {"seed": 0}])
def test_train_given_no_composed_config_says_what_it_takes(given):
    """None was a TypeError from inside the checks, a plain dict OmegaConf's "Input cfg is
    not an OmegaConf config object", a string of overrides "data is not set"."""
    message = value_refusal(lambda: train(given))
    assert message.startswith(f"cfg of type {type(given).__name__} is not allowed: it must be")
    assert message.endswith("aegan.config.compose_config([overrides...])")


@pytest.mark.usefixtures("one_thread")
def test_a_compiled_run_leaves_dynamos_settings_as_it_found_them(tmp_path, monkeypatch):
    """A compiled step (compile_scope=step) set Dynamo's trace_autograd_ops for the whole
    process and left it: the caller's own compiled functions that call backward() were
    traced another way after a run."""
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    compiled = ["trainer.compile=default", "trainer.compile_scope=step", "data.subset=256"]
    before = torch._dynamo.config.get_config_copy()
    train(compose_config([*RESUME, *compiled], tmp_path / "run"))
    after = torch._dynamo.config.get_config_copy()
    assert [key for key in before if after[key] != before[key]] == []
