"""aegan.engine.loop's ``fit`` in milliseconds: a linear task on 2x2 images, 8 steps an
epoch, so that every resume path (mid-epoch stop, stop in an epoch's last step, a resume
from ``last.pt``), the checkpoint cadence, the divergence guard and the logs can be
checked by value, against a run that was not interrupted."""

from __future__ import annotations

import logging
import re
import signal

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch import nn

from aegan.amp import Amp
from aegan.contract import Task
from aegan.data import ImageData
from aegan.engine import RunContext, fit, load_checkpoint
from aegan.engine.interrupt import TrainingInterrupted
from aegan.errors import NonFiniteError
from aegan.logger import TensorBoardLogger
from conftest import assert_same

CPU = torch.device("cpu")
BATCH, STEPS_PER_EPOCH = 4, 8


class PixelTask(Task):
    """Predicts a 2x2 image from itself through one linear map; validation is its MSE."""

    objective = "val/mse"

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.net = nn.Linear(4, 4)
        self.networks = {"net": self.net}
        self.optimizers = {"sgd": torch.optim.SGD(self.net.parameters(), lr=0.5, momentum=0.9)}
        self.losses: list[float] = []  # each step's, read back by the tests

    def loss(self, batch: torch.Tensor) -> torch.Tensor:
        x = batch.flatten(1).float() / 255
        return F.mse_loss(self.net(x), x)

    def train_step(self, batch: torch.Tensor, amp: Amp) -> dict[str, torch.Tensor]:
        loss = self.loss(batch) + 1e-3 * torch.rand(())  # the global RNG: a resume restores it
        self.losses.append(loss.item())
        amp.backward(loss)
        amp.step(self.optimizers["sgd"])
        self.optimizers["sgd"].zero_grad()
        return {"train/loss": loss.detach()}

    @torch.no_grad()
    def validate(self, batches, amp: Amp) -> dict[str, float]:
        return {"val/mse": torch.stack([self.loss(b) for b in batches]).mean().item()}

    def extra_state(self) -> dict:
        return {"marker": 7}


def tiny_data() -> ImageData:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (BATCH * STEPS_PER_EPOCH + 3, 1, 2, 2), generator=g,
                           dtype=torch.uint8)  # fmt: skip
    labels = torch.zeros(len(images), dtype=torch.int64)
    return ImageData("tiny", images, labels, images[:6], labels[:6], images[:6], labels[:6],
                     ("x",), "test")  # fmt: skip


def trainer(**changes):
    return OmegaConf.create({"epochs": 3, "checkpoint_every_steps": 0, "keep_checkpoints": 2,
                             "on_nonfinite": "stop", "eval_batch_size": 4, **changes})  # fmt: skip


def run_fit(tmp_path, *, stop_at: int | None = None, resume: bool = False, log: bool = False,
            step_hook=None, **trainer_changes):  # fmt: skip
    """``fit`` as aegan.train calls it; ``stop_at``: SIGTERM arrives during that step (1-based)."""
    task = PixelTask()
    amp = Amp("fp32", CPU)
    folder = tmp_path / "checkpoints"
    state = (load_checkpoint(folder / "last.pt"), folder / "last.pt") if resume else None
    run = RunContext(
        amp=amp, logger=TensorBoardLogger(tmp_path / "tb", enabled=log), checkpoint_dir=folder,
        record={"config": {}, "choices": {}}, seed=5, batch_size=BATCH, log_every_steps=3,
        resume=state,
    )  # fmt: skip
    steps = []

    def step(batch):
        steps.append(batch)
        if step_hook:
            step_hook(len(steps), task)
        if stop_at is not None and (state[0]["step"] if state else 0) + len(steps) == stop_at:
            run.stop.signal_number = signal.SIGTERM
        return task.train_step(batch, amp)

    progress = fit(task, step, tiny_data(), trainer(**trainer_changes), run)
    run.logger.close() if log else None
    return task, progress


def interrupted(tmp_path, stop_at: int, **changes) -> TrainingInterrupted:
    with pytest.raises(TrainingInterrupted) as caught:
        run_fit(tmp_path, stop_at=stop_at, **changes)
    return caught.value


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """Three epochs without a stop: (its last.pt, the Progress fit returned)."""
    folder = tmp_path_factory.mktemp("straight")
    _, progress = run_fit(folder)
    return load_checkpoint(folder / "checkpoints" / "last.pt"), progress


def without_config(state: dict) -> dict:
    return {k: v for k, v in state.items() if k not in ("config", "rng")}


@pytest.mark.parametrize("stop_at", [5, 8, 9, 24])
def test_a_stopped_and_resumed_run_ends_as_the_straight_one(tmp_path, straight, stop_at):
    """Mid-epoch (5, 9), in an epoch's last step (8) and in the run's last step (24)."""
    error = interrupted(tmp_path, stop_at)
    assert error.step == stop_at and error.signal_name == "SIGTERM"
    saved = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    epoch, batch = divmod(stop_at, STEPS_PER_EPOCH)
    assert (saved["step"], saved["epoch"], saved["batch"]) == (stop_at, epoch, batch)
    assert len(saved["history"]) == epoch  # validated only the epochs that ended
    if stop_at == 24:  # nothing left to train: the resume only returns
        return
    assert not torch.equal(saved["networks"]["net"]["weight"],
                           straight[0]["networks"]["net"]["weight"])  # fmt: skip
    _, progress = run_fit(tmp_path, resume=True)
    assert progress == straight[1]
    end = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert_same(without_config(end), without_config(straight[0]))
    assert torch.equal(end["rng"]["torch"], straight[0]["rng"]["torch"])


def test_the_stop_message_says_where_and_how_to_continue(tmp_path):
    folder = tmp_path / "checkpoints"
    assert str(interrupted(tmp_path, 5)) == (
        "stopped by SIGTERM at step 5 (epoch 1/3, batch 5/8); saved "
        f"{folder}/last.pt. Continue with the same command and trainer.resume={tmp_path}"
    )
    assert str(interrupted(tmp_path, 16)).startswith(
        "stopped by SIGTERM at step 16 (end of epoch 2/3); saved"
    )


def test_a_resume_logs_where_it_continues(tmp_path, caplog):
    interrupted(tmp_path, 10)
    with caplog.at_level(logging.INFO, logger="aegan.engine.loop"):
        run_fit(tmp_path, resume=True, epochs=2)
    assert f"resumed from {tmp_path}/checkpoints/last.pt at step 10 (epoch 2/2, batch 2/8)" in (
        caplog.messages
    )


def test_every_epoch_is_validated_and_the_best_is_kept(tmp_path, straight):
    state, progress = straight
    assert (progress.epoch, progress.batch, progress.step) == (3, 0, 24)
    history = progress.history
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert progress.best_objective == min(h["val/mse"] for h in history)
    assert state["history"] == history and state["task"] == {"marker": 7}

    def worse_after_the_first_epoch(count, task):
        if count == 9:  # the second epoch's first step ruins the weights
            with torch.no_grad():
                task.net.weight.fill_(3.0)

    _, ruined = run_fit(tmp_path, step_hook=worse_after_the_first_epoch, epochs=2)
    assert ruined.best_objective == ruined.history[0]["val/mse"] < ruined.history[1]["val/mse"]
    folder = tmp_path / "checkpoints"
    assert load_checkpoint(folder / "best.pt")["step"] == 8
    assert load_checkpoint(folder / "last.pt")["step"] == 16


def test_checkpoints_every_n_steps_keep_the_newest(tmp_path):
    run_fit(tmp_path, epochs=1, checkpoint_every_steps=3, keep_checkpoints=2)
    folder = tmp_path / "checkpoints"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["best.pt", "last.pt", "step-00000006.pt", "step-00000008.pt"]
    assert load_checkpoint(folder / "step-00000006.pt")["batch"] == 6


def test_a_nonfinite_loss_stops_before_the_next_save(tmp_path):
    def diverge(count, task):
        if count == 11:
            with torch.no_grad():
                task.net.weight.fill_(float("nan"))

    with pytest.raises(NonFiniteError) as caught:
        run_fit(tmp_path, step_hook=diverge, checkpoint_every_steps=3)
    assert str(caught.value).startswith(
        f"non-finite loss at step 11; training stopped, the last good checkpoint is "
        f"{tmp_path}/checkpoints/last.pt"
    )
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["step"] == 9


def test_the_logged_scalars_are_window_means_at_the_flush_steps(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    task, _ = run_fit(tmp_path, log=True, epochs=1, on_nonfinite="skip")
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    loss = events.Scalars("train/loss")
    assert [e.step for e in loss] == [3, 6, 8]  # every 3 steps and at the epoch's end
    windows = [task.losses[0:3], task.losses[3:6], task.losses[6:8]]
    assert [e.value for e in loss] == pytest.approx([sum(w) / len(w) for w in windows])
    assert [e.value for e in events.Scalars("lr/sgd")] == [0.5, 0.5, 0.5]
    assert [e.value for e in events.Scalars("train/skipped_steps")] == [0, 0, 0]
    speeds = [e.value for e in events.Scalars("perf/images_per_sec")]
    assert len(speeds) == 3 and min(speeds) > 0
    assert [e.step for e in events.Scalars("val/mse")] == [8]


def test_the_epoch_timing_log_adds_up(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="aegan.engine.loop"):
        run_fit(tmp_path, epochs=2)
    number = r"([0-9.e+-]+)"
    timings = [
        re.fullmatch(
            rf"epoch (\d) time: training {number} s; logging and validation {number} s = "
            rf"{number}% of it \(scalars {number}, validation and pictures {number}\); "
            rf"checkpoints {number} s",
            m,
        )
        for m in caplog.messages
        if " time: " in m
    ]
    assert [t.group(1) for t in timings] == ["1", "2"]
    for t in timings:
        training, overhead, share, scalars, validation, saving = map(float, t.groups()[1:])
        assert min(training, overhead, scalars, validation, saving) > 0
        assert overhead == pytest.approx(scalars + validation, rel=2e-3)
        assert share == pytest.approx(100 * overhead / training, rel=2e-3, abs=0.01)
    (total,) = [m for m in caplog.messages if m.startswith("training ")]
    training, overhead, share = map(float, re.findall(r"[0-9.e+-]+(?= s|%)", total))
    assert share == pytest.approx(100 * overhead / training, rel=2e-3, abs=0.01)
    shown = [m for m in caplog.messages if m.startswith("epoch 2/2 step 16: val/mse=")]
    assert len(shown) == 1
