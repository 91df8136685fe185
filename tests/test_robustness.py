"""Nothing lost, nothing unclear: bad settings, broken files, divergence, crashes, resume."""

import errno
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aegan.engine import load_checkpoint
from aegan.engine.checkpoint import CHECKPOINT_FORMAT
from aegan.engine.interrupt import TrainingInterrupted, stop_on_signals
from aegan.errors import (
    USER_ERRORS,
    CheckpointError,
    ConfigError,
    DiskFullError,
    NonFiniteError,
)
from aegan.io.readback import read_json
from aegan.train import train
from conftest import REPO, TINY_AE, built, compose_config

BAD_OVERRIDES = [
    ("trainer.epochs=0", "trainer.epochs=0"),
    ("data.batch_size=0", "data.batch_size=0"),
    ("model.latent_dim=-3", "model.latent_dim=-3"),
    ("model.hidden_dims=[64,0]", r"model.hidden_dims\[1\]=0"),
    # the network read the null: its tied key was named, not the one set
    ("model.hidden_dims=null", "^model.hidden_dims=null is not allowed: it must be a list of"),
    ("trainer.precision=fp8", "trainer.precision='fp8'.*auto, bf16, fp16, fp32"),
    ("trainer.device=tpu", "trainer.device='tpu'.*auto, cpu, cuda"),
    ("trainer.precision=fp16", "fp16 needs CUDA"),
    ("trainer.on_nonfinite=maybe", "trainer.on_nonfinite='maybe'.*stop, skip"),
    ("data.batch_size=4096", "data.batch_size=4096 is larger than data.subset=2000"),
    ("trainer.resume=/nonexistent/run", "no checkpoint at /nonexistent/run"),
    ("data.root=/nonexistent/data", "data.root=/nonexistent/data does not exist"),
    ("model.loss=l1", "model.loss='l1' is not allowed; choose one of: mse, bce"),
]


@pytest.mark.parametrize(("override", "message"), BAD_OVERRIDES)
def test_bad_setting_gives_one_clear_error(make_cfg, override, message):
    with pytest.raises((ConfigError, CheckpointError), match=message):
        train(make_cfg(*TINY_AE, override))


MODELS = ", ".join(sorted(path.stem for path in (REPO / "conf" / "model").glob("*.yaml")))
HYDRA_MISTAKES = [
    (
        "model=dcgn",
        f"model=dcgn: no such option; choose one of: {MODELS} (or add model/dcgn.yaml "
        "to a folder DIR given as hydra.searchpath=[file://DIR])",
    ),
    ("trainer.epoch=3", "trainer.epoch is not a setting; did you mean trainer.epochs?"),
    ("trainer.epochs=abc", "trainer.epochs='abc' is not allowed: it must be an integer"),
    ("trainer.epochs=true", "trainer.epochs=true is not allowed: it must be an integer"),
    ("epochs=3", "epochs is not a setting; did you mean trainer.epochs?"),  # not "the sections"
    (
        "model.optimizer.betas=[0.9,0.99]",
        "model.optimizer.betas is not a setting; the settings "
        "of model.optimizer are: _partial_, _target_, foreach, fused, lr; to pass one that "
        "model.optimizer._target_ takes, add it: +model.optimizer.betas=...",
    ),  # not in conf/
    ("trainer.epochs=[1", "cannot read the override 'trainer.epochs=[1'"),
    ("+model=autoencoder", "model appears more than once in the final defaults list"),
]


@pytest.mark.parametrize(("override", "message"), HYDRA_MISTAKES)
def test_mistakes_hydra_catches_are_one_line_too(cli, tmp_path, override, message):
    """Hydra's own reports of these are several lines and suggest +key=value."""
    result = cli("aegan.train", override, f"hydra.run.dir={tmp_path}")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {message}")
    assert result.stderr.count("\n") == 1, result.stderr


def test_console_script_finds_the_configs_from_any_folder(tmp_path):
    """``aegan-train`` (pyproject's script) once looked for a Python package ``conf``."""
    script = Path(sys.executable).with_name("aegan-train")
    result = subprocess.run(
        [str(script), "model=dcgn"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {HYDRA_MISTAKES[0][1]}"


def test_unwritable_output_folder_fails_at_start(make_cfg, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cfg = make_cfg(*TINY_AE)
    cfg.paths.output_dir = str(blocker / "run")
    with pytest.raises(ConfigError, match=r"^paths.output_dir=.*a-file is a file, not a folder"):
        train(cfg)


def test_ranks_probing_one_output_folder_at_once_do_not_trip_each_other(tmp_path):
    """Every torchrun rank checks the run folder at start; one must not delete another's probe."""
    from concurrent.futures import ThreadPoolExecutor

    from aegan.engine.run_dir import prepare_run_dir

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: prepare_run_dir(tmp_path / "run"), range(2000)))
    assert list((tmp_path / "run" / "checkpoints").iterdir()) == []


@pytest.fixture
def small_disk(tmp_path):
    """A real 8 MiB filesystem (tmpfs) to fill up; skipped where mounting is not allowed."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


def test_full_disk_stops_with_the_last_good_checkpoint_and_resumes(
    make_cfg, small_disk, monkeypatch
):
    # room for one 1.3 MiB checkpoint, not two: the save at step 10 meets a full disk; the
    # start-up check would refuse 8 MiB
    monkeypatch.setattr("aegan.engine.run_dir.MIN_FREE_BYTES", 0)
    filler = small_disk / "filler"
    filler.write_bytes(bytes(6 * 2**20))
    overrides = [
        *TINY_AE,
        "logger=none",
        "trainer.checkpoint_every_steps=5",
        "evaluate.at_end=false",
    ]
    cfg = make_cfg(*overrides)
    cfg.paths.output_dir = str(small_disk / "run")
    checkpoints = small_disk / "run" / "checkpoints"
    with pytest.raises(CheckpointError) as caught:
        train(cfg)
    message = str(caught.value)
    assert "\n" not in message and "No space left on device" in message
    assert f"the last good checkpoint is {checkpoints / 'last.pt'}" in message
    assert sorted(p.name for p in checkpoints.iterdir()) == ["last.pt", "step-00000005.pt"]
    assert load_checkpoint(checkpoints / "last.pt")["step"] == 5  # whole, and loadable

    filler.unlink()  # the user frees space and resumes where the run stopped
    cfg.trainer.resume = str(small_disk / "run")
    metrics = train(cfg)
    assert load_checkpoint(checkpoints / "last.pt")["step"] == 31 == metrics["train/steps"]


def test_full_disk_outside_checkpoints_is_one_clear_error(make_cfg, monkeypatch):
    # the TensorBoard projector's sprite is written after training, as a disk fills up
    sprite = "RUN/tb/00000/test_codes/sprite.png"

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), sprite)

    monkeypatch.setattr("aegan.train.log_codes", disk_full)
    cfg = make_cfg(*TINY_AE)
    with pytest.raises(DiskFullError) as caught:
        train(cfg)
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.pt"
    assert str(caught.value) == (
        f"No space left on device while writing {sprite}; the last good checkpoint is {last}. "
        f"Make room, then continue in its folder with trainer.resume={cfg.paths.output_dir} "
        f"hydra.run.dir={cfg.paths.output_dir}"
    )
    assert isinstance(caught.value, USER_ERRORS)  # the command line shows it as one line
    assert load_checkpoint(last)["step"] == 31


def test_full_disk_in_tensorboards_projector_writer_names_its_folder(make_cfg, monkeypatch):
    """TensorBoard's writer raises with no file name: the line named only the run's folder."""
    from torch.utils.tensorboard import SummaryWriter

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(SummaryWriter, "add_embedding", disk_full)
    cfg = make_cfg(*TINY_AE)
    with pytest.raises(DiskFullError) as caught:
        train(cfg)
    folder = Path(cfg.paths.output_dir) / "tb" / "00031" / "test_codes"
    assert str(caught.value).startswith(f"No space left on device while writing {folder}; ")


def test_divergence_stops_and_names_the_step(make_cfg):
    with pytest.raises(NonFiniteError, match=r"non-finite loss at step \d+"):
        train(make_cfg(*TINY_AE, "model.optimizer.lr=1e30", "trainer.on_nonfinite=stop"))


def test_code_payload_checkpoint_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"format_version": CHECKPOINT_FORMAT, "x": Payload()}, f, protocol=2)
    with pytest.raises(CheckpointError, match="refused to load"):
        load_checkpoint(path)


def test_mismatched_model_says_what_differs(make_cfg, trained_ae_run):
    with pytest.raises(CheckpointError, match=r"autoencoder weights do not fit.*shape differs"):
        train(
            make_cfg(
                *TINY_AE,
                "model.latent_dim=16",
                "trainer.epochs=2",
                f"trainer.resume={trained_ae_run}",
            )
        )


def test_a_second_ctrl_c_stops_at_once():
    with stop_on_signals() as stop:
        signal.raise_signal(signal.SIGINT)
        assert stop.name == "SIGINT"
        signal.raise_signal(signal.SIGTERM)  # the request stays the first signal's
        assert stop.name == "SIGINT"
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_the_data_is_read_stops_with_its_line(make_cfg, monkeypatch, number):
    """It ended the process (143) without a word, or with a KeyboardInterrupt traceback."""
    import aegan.train as module

    def read(*args, **kwargs):
        signal.raise_signal(number)
        raise AssertionError("not reached: the signal stops the run")

    monkeypatch.setattr(module, "load_data", read)
    cfg, handler = make_cfg(*TINY_AE), signal.getsignal(signal.SIGTERM)
    with pytest.raises(
        TrainingInterrupted, match="before the first step, while setting up"
    ) as caught:
        train(cfg)
    assert (caught.value.phase, caught.value.exit_code) == ("setup", 128 + number)
    stopped = read_json(Path(cfg.paths.output_dir) / "stopped.json")  # aegan.summarize's note
    assert stopped["phase"] == "setup" and stopped["step"] == 0
    assert signal.getsignal(signal.SIGTERM) is handler  # put back


def test_a_signal_before_a_resume_begins_leaves_the_trained_run_as_it_was(
    make_cfg, monkeypatch, trained_ae_run, tmp_path
):
    """In a trained run's folder the run is not this one's until its resume begins."""
    import shutil

    import aegan.train as module

    run = tmp_path / "copy"
    shutil.copytree(trained_ae_run, run)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    monkeypatch.setattr(module, "load_data", lambda *a, **k: signal.raise_signal(signal.SIGTERM))
    cfg = compose_config([*TINY_AE, "trainer.epochs=3", "trainer.resume=auto"], run)
    with pytest.raises(TrainingInterrupted, match="while setting up"):
        train(cfg, on_resume=lambda: None)  # as the command in a trained run's folder calls it
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


# ------------------------------------------------------------------ generated bad input

POSITIVE_KEYS = ["trainer.epochs", "data.batch_size", "model.latent_dim", "trainer.eval_batch_size",
                 "logger.log_every_steps", "trainer.keep_checkpoints"]  # fmt: skip
CHOICE_KEYS = ["trainer.precision", "trainer.device", "trainer.on_nonfinite", "model.loss"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.sampled_from(POSITIVE_KEYS + CHOICE_KEYS),
    number=st.integers(min_value=-(10**6), max_value=0),
    word=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12),
)
def test_generated_bad_overrides_get_a_clear_error(make_cfg, key, number, word):
    value = str(number) if key in POSITIVE_KEYS else f"x{word}"
    cfg = make_cfg(*TINY_AE, f"{key}={value}")
    with pytest.raises((ConfigError, CheckpointError)) as info:
        train(cfg)
    assert key.split(".")[-1] in str(info.value)
    assert "\n" not in str(info.value)


def test_skip_mode_skips_nonfinite_steps_without_touching_weights(tmp_path):
    from aegan.engine.scalars import StepAccumulator

    _, task, _, step = built([*TINY_AE, "trainer.on_nonfinite=skip"], tmp_path)
    stats = StepAccumulator()
    batch = torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8)
    before = {k: v.clone() for k, v in task.net.state_dict().items()}
    stats.add(step(torch.full(batch.shape, float("nan"))), step=0)  # a NaN loss
    assert all(torch.equal(before[k], v) for k, v in task.net.state_dict().items())
    stats.add(step(batch), step=1)
    assert not torch.equal(before["encoder.1.weight"], task.net.state_dict()["encoder.1.weight"])
    means, bad_steps, first_bad = stats.read()
    assert (bad_steps, first_bad) == (1, 0)
    assert 0 < means["train/loss"] < 0.3  # the good step's loss alone
