"""A TensorBoard log that can no longer be written mid-epoch (its folder removed or
replaced, a full disk) ends the run with the steps trained since the last checkpoint saved:
their weights are whole, and a resume goes on bitwise from there."""

import shutil
import threading
from pathlib import Path

import pytest
from resume_checks import assert_same_training_state, in_training_forward, last_state
from torch.nn.modules.module import register_module_forward_hook

import aegan.tensorboard_writer
from aegan.errors import CheckpointError
from aegan.models import DenseAutoencoder
from aegan.train import train
from conftest import TINY_AE

COMMON = [*TINY_AE, "logger.log_every_steps=5"]  # 31 steps: no checkpoint before the end


@pytest.fixture(autouse=True)
def quiet_writer_thread(monkeypatch):
    """The thread hook a run's process has from aegan.tensorboard_writer's import
    (TensorBoard's writer thread keeps its failed write quiet: the run's line says it), where
    pytest puts its own for each test, which took that write as a thread that failed
    unnoticed."""
    monkeypatch.setattr(threading, "excepthook", aegan.tensorboard_writer._quiet_writer_thread)


def tb_made_a_file_in_forward(run_dir: Path, forward: int):
    """``run_dir/tb`` replaced by a file during the ``forward``-th training forward pass."""

    def replace_tb() -> None:
        shutil.rmtree(run_dir / "tb")
        (run_dir / "tb").write_text("not the log's folder")

    return in_training_forward(forward, replace_tb)


def test_a_log_that_fails_mid_epoch_saves_the_steps_trained_before_it(make_cfg):
    straight = make_cfg(*COMMON, "trainer.checkpoint_every_steps=5",
                        "trainer.keep_checkpoints=100", run="straight")  # fmt: skip
    train(straight)
    cfg = make_cfg(*COMMON)
    run_dir = Path(cfg.paths.output_dir)
    with (
        tb_made_a_file_in_forward(run_dir, 12),  # in step 13: a point at 15 or 20 fails
        pytest.raises(CheckpointError, match=r"while writing .*/tb/.*last good checkpoint is"),
    ):
        train(cfg)
    kept = last_state(run_dir)
    assert kept["step"] in (15, 20) and (kept["epoch"], kept["batch"]) == (0, kept["step"])
    at_step = last_state(straight.paths.output_dir, f"step-{kept['step']:08d}.pt")
    assert_same_training_state(at_step, kept)

    (run_dir / "tb").unlink()
    train(make_cfg(*COMMON, "trainer.resume=auto"))
    assert_same_training_state(last_state(straight.paths.output_dir), last_state(run_dir))


def test_a_log_that_fails_in_validation_is_one_line_that_names_the_file(make_cfg, caplog):
    """The epoch's training is saved unvalidated, and the run's line says so: a second line
    blamed the task ("AutoencoderTask.validate or log_epoch failed") for the log's write."""
    cfg = make_cfg(*COMMON)
    run_dir = Path(cfg.paths.output_dir)

    def hook(module, args, output):
        if (
            isinstance(module, DenseAutoencoder)
            and not module.training
            and run_dir.joinpath("tb").is_dir()
        ):
            shutil.rmtree(run_dir / "tb")
            (run_dir / "tb").write_text("not the log's folder")

    handle = register_module_forward_hook(hook)
    try:
        with pytest.raises(CheckpointError, match=r"while writing .*/tb/.*last good checkpoint"):
            train(cfg)
    finally:
        handle.remove()
    kept = last_state(run_dir)  # as at the epoch's last batch: a resume validates it
    assert (kept["step"], kept["epoch"], kept["batch"]) == (31, 0, 31)
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
