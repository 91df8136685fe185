"""aegan.engine.loop's ``fit`` by value (``fit_task.PixelTask``, 8 steps an epoch): the
batches it draws, validation and the best checkpoint, the checkpoint cadence, the
divergence guard, the logged scalars and the timing log."""

from __future__ import annotations

import logging
import math
import re
import time

import pytest
import torch
from fit_task import BATCH, SEED, PixelTask, run_fit, tiny_data

from aegan.data import DeviceBatches
from aegan.engine import load_checkpoint
from aegan.errors import NonFiniteError


def test_the_steps_get_the_shuffled_batches_of_the_runs_seed(tmp_path):
    task, _ = run_fit(tmp_path, epochs=2)
    expected = DeviceBatches(tiny_data().train_images, batch_size=BATCH, seed=SEED)
    drawn = [*expected.epoch(0), *expected.epoch(1)]
    assert len(task.batches) == len(drawn) == 16
    assert all(torch.equal(a, b) for a, b in zip(task.batches, drawn, strict=True))


def test_labels_and_binarized_pixels_reach_a_task_that_asks(tmp_path):
    task, _ = run_fit(tmp_path, epochs=1, task=PixelTask(uses_labels=True), data=tiny_data(True))
    data = tiny_data()
    for images, labels in task.batches:  # pairs; labels of the images drawn
        assert set(images.unique().tolist()) <= {0, 255}
        assert images.shape == (BATCH, 1, 2, 2) and labels.shape == (BATCH,)
    first = next(DeviceBatches(data.train_images, batch_size=BATCH, seed=SEED,
                               labels=data.train_labels).epoch(0))  # fmt: skip
    assert torch.equal(task.batches[0][1], first[1])


def test_validation_runs_in_eval_mode_in_batches_and_feeds_the_pictures(tmp_path):
    task, progress = run_fit(tmp_path, epochs=2)
    task.train(False)
    val = tiny_data().val_images
    with torch.no_grad():  # eval_batch_size=4: the mean of a batch of 4 and one of 2
        expected = (task.loss(val[:4]) + task.loss(val[4:])).item() / 2
    assert progress.history[-1]["val/mse"] == pytest.approx(expected, rel=1e-6)
    assert [h["epoch"] for h in progress.history] == [1, 2]
    assert task.logged == [("TensorBoardLogger", "tiny", 8), ("TensorBoardLogger", "tiny", 16)]


def test_the_best_checkpoint_is_the_first_epoch_with_the_lowest_objective(tmp_path):
    def ruin_the_second_epoch(count, task):
        if count == 9:
            with torch.no_grad():
                task.net[0].weight.fill_(3.0)

    _, ruined = run_fit(
        tmp_path / "a", step_hook=ruin_the_second_epoch, epochs=2, checkpoint_every_steps=3
    )  # saves within epochs are never the best
    assert ruined.best_objective == ruined.history[0]["val/mse"] < ruined.history[1]["val/mse"]
    assert load_checkpoint(tmp_path / "a" / "checkpoints" / "best.pt")["step"] == 8
    assert load_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")["step"] == 16
    _, frozen = run_fit(tmp_path / "b", task=PixelTask(lr=0.0), epochs=2)  # a tie: the first
    assert frozen.history[0]["val/mse"] == frozen.history[1]["val/mse"]
    assert load_checkpoint(tmp_path / "b" / "checkpoints" / "best.pt")["step"] == 8


def test_checkpoints_every_n_steps_keep_the_newest_and_are_not_best(tmp_path):
    run_fit(tmp_path, epochs=1, checkpoint_every_steps=3, keep_checkpoints=2)
    folder = tmp_path / "checkpoints"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["best.pt", "last.pt", "step-00000006.pt", "step-00000008.pt"]
    assert load_checkpoint(folder / "step-00000006.pt")["batch"] == 6
    assert load_checkpoint(folder / "best.pt")["step"] == 8


@pytest.mark.parametrize(("every", "said"), [(16, True), (100_000, True), (15, False), (0, False)])
def test_checkpoints_every_n_steps_past_the_run_are_said(tmp_path, caplog, every, said):
    """trainer.checkpoint_every_steps=100000 on a run of 16 steps saved nothing more,
    without a word."""
    with caplog.at_level(logging.WARNING, logger="aegan.engine.loop"):
        run_fit(tmp_path, epochs=2, checkpoint_every_steps=every)
    line = (f"trainer.checkpoint_every_steps={every} has no effect: this run trains 16 steps "
            "(8 an epoch), and saves at each epoch's end")  # fmt: skip
    assert (line in caplog.text) is said


def test_a_resume_at_a_smaller_keep_keeps_as_many_as_it_found(tmp_path, caplog):
    """The first process kept four step checkpoints; a resume that does not repeat its
    ``keep_checkpoints`` (the default 2 here) keeps four too, and says so."""
    run_fit(tmp_path, epochs=1, checkpoint_every_steps=2, keep_checkpoints=5)
    folder = tmp_path / "checkpoints"
    assert len(list(folder.glob("step-*.pt"))) == 4
    with caplog.at_level(logging.WARNING, logger="aegan.engine.checkpoint"):
        run_fit(tmp_path, resume=True, epochs=2, checkpoint_every_steps=2, keep_checkpoints=2)
    names = sorted(p.name for p in folder.glob("step-*.pt"))
    assert names == [f"step-{step:08d}.pt" for step in (10, 12, 14, 16)]
    assert "trainer.keep_checkpoints=2: " in caplog.text and "keeps the newest 4" in caplog.text


def test_a_branch_at_a_smaller_keep_keeps_the_checkpoint_it_started_from(tmp_path):
    """Counted after the branch moved the later files aside, the window shrank to what was
    left, and the branch's first saves deleted the checkpoint it had resumed from."""
    run_fit(tmp_path, epochs=1, checkpoint_every_steps=2, keep_checkpoints=5)
    folder = tmp_path / "checkpoints"
    start = folder / "step-00000004.pt"
    run_fit(tmp_path, resume=start, branch=True, epochs=1, checkpoint_every_steps=2,
            keep_checkpoints=1)  # fmt: skip
    assert sorted(p.name for p in folder.glob("step-*.pt")) == [
        f"step-{step:08d}.pt" for step in (2, 4, 6, 8)
    ]  # fmt: skip
    assert sorted(p.name for p in (folder / "past-step-4").glob("step-*.pt")) == [
        "step-00000006.pt", "step-00000008.pt"
    ]  # fmt: skip


def test_a_nonfinite_loss_stops_before_the_next_save(tmp_path):
    with pytest.raises(NonFiniteError) as caught:
        run_fit(tmp_path, nan_steps=[11], checkpoint_every_steps=3)
    assert str(caught.value) == (
        f"non-finite loss at step 11: train/loss=nan; training stopped, the last good "
        f"checkpoint is {tmp_path}/checkpoints/last.pt (lower the learning rate, use "
        "bf16/fp32, or trainer.on_nonfinite=skip)"
    )
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["step"] == 9


def test_the_logged_scalars_are_window_means_at_the_flush_steps(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    started = time.perf_counter()
    task, _ = run_fit(tmp_path, log=True, epochs=1, on_nonfinite="skip", nan_steps=[2, 7],
                      checkpoint_every_steps=4)  # fmt: skip
    seconds = time.perf_counter() - started
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    loss = events.Scalars("train/loss")
    assert [e.step for e in loss] == [3, 4, 6, 8]  # every 3 steps, at each save, at the end
    windows = [task.losses[0:3], task.losses[3:4], task.losses[4:6], task.losses[6:8]]
    means = [sum(v for v in w if not math.isnan(v)) / len(w) for w in windows]
    assert [e.value for e in loss] == pytest.approx(means)
    assert [e.value for e in events.Scalars("train/skipped_steps")] == [1, 1, 1, 2]
    assert [e.value for e in events.Scalars("lr/sgd")] == [0.5] * 4
    speeds = [e.value for e in events.Scalars("perf/images_per_sec")]
    images = [len(w) * BATCH for w in windows]
    assert all(speed > n / seconds for speed, n in zip(speeds, images, strict=True))
    assert [e.step for e in events.Scalars("val/mse")] == [8]


NUMBER = r"([0-9.e+-]+)"
EPOCH_TIME = re.compile(
    rf"epoch (\d) time: training {NUMBER} s for \d+ steps; logging and validation {NUMBER} s = {NUMBER}% "
    rf"of it \(scalars {NUMBER}, validation and pictures {NUMBER}\); checkpoints {NUMBER} s"
)
RUN_TIME = re.compile(rf"training {NUMBER} s; logging and validation {NUMBER} s = {NUMBER}% of it")


def test_the_timing_logs_add_up(tmp_path, caplog):
    started = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="aegan.engine.loop"):
        run_fit(tmp_path, epochs=2)
    seconds = time.perf_counter() - started
    epochs = [m for m in map(EPOCH_TIME.fullmatch, caplog.messages) if m]
    assert [m.group(1) for m in epochs] == ["1", "2"]
    parts = [tuple(map(float, m.groups()[1:])) for m in epochs]
    for training, overhead, share, scalars, validation, saving in parts:
        assert min(training, overhead, scalars, validation, saving) > 0
        assert overhead == pytest.approx(scalars + validation, rel=2e-3)
        assert share == pytest.approx(100 * overhead / training, rel=2e-3, abs=0.01)
    assert sum(p[0] + p[1] + p[5] for p in parts) < seconds  # parts of the time fit took
    (run,) = [m for m in map(RUN_TIME.fullmatch, caplog.messages) if m]
    training, overhead, share = map(float, run.groups())
    assert training == pytest.approx(sum(p[0] for p in parts), rel=2e-3)
    assert overhead == pytest.approx(sum(p[1] for p in parts), rel=2e-3)
    assert share == pytest.approx(100 * overhead / training, rel=2e-3, abs=0.01)
    assert sum(m.startswith("epoch 2/2 step 16: val/mse=") for m in caplog.messages) == 1
