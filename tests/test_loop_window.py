"""What ``fit`` shows while it trains (``fit_task.PixelTask``, 8 steps an epoch): the progress
bar, the flushed scalars and their images/s, the epoch log; and a rank other than 0, which
trains its own shard and writes nothing."""

from __future__ import annotations

import io
import logging

import pytest
import torch
from fit_task import BATCH, SEED, STEPS_PER_EPOCH, PixelTask, run_fit, tiny_data, trainer

from aegan.amp import Amp
from aegan.data import DeviceBatches
from aegan.engine import RunContext, fit, loop, reporting
from aegan.engine.interrupt import TrainingInterrupted
from aegan.engine.state import Progress
from aegan.logger import TensorBoardLogger
from conftest import CPU


class Terminal(io.StringIO):
    """A file tqdm takes for a terminal, so a bar left to decide (``disable=None``) shows."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def bars(monkeypatch) -> list:
    """Every progress bar ``fit`` opens, drawn on a ``Terminal``."""
    opened = []

    class Bar(reporting.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, file=Terminal(), **kwargs)
            opened.append(self)

    monkeypatch.setattr(reporting, "tqdm", Bar)
    return opened


def test_the_bar_counts_the_runs_steps_from_where_it_resumes(tmp_path, bars):
    with pytest.raises(TrainingInterrupted):
        run_fit(tmp_path, stop_at=10)
    run_fit(tmp_path, resume=True)
    first, resumed = bars
    assert (first.total, first.n) == (3 * STEPS_PER_EPOCH, 10)
    assert (resumed.total, resumed.initial, resumed.n) == (24, 10, 24)
    assert resumed.dynamic_ncols  # it follows the terminal's width
    drawn = resumed.fp.getvalue().splitlines()[-1]
    assert drawn.startswith("train: 100%") and "24/24" in drawn and "step/s" in drawn
    assert "loss=" in drawn


def test_the_bar_shows_the_flushed_means_by_short_name_without_the_learning_rates(tmp_path, bars):
    task, _ = run_fit(tmp_path, epochs=1, on_nonfinite="skip")  # flushes at 3, 6 and 8
    (bar,) = bars
    mean = sum(task.losses[6:8]) / 2
    speed = bar.postfix.split("images_per_sec=")[1].split(",")[0]
    assert bar.postfix == f"loss={mean:.4g}, skipped_steps=0, images_per_sec={speed}"


def window(rank: int = 0, world_size: int = 1, total: int = 10, done: int = 0, tmp_path=None):
    run = RunContext(amp=Amp("fp32", CPU), logger=TensorBoardLogger(tmp_path or ".", enabled=False),
                     checkpoint_dir=None, record={}, seed=0, batch_size=BATCH,
                     log_every_steps=3, rank=rank, world_size=world_size)  # fmt: skip
    return reporting.ScalarWindow(PixelTask(), run, trainer(), total, done)


def test_only_rank_0_shows_a_bar(bars):
    shown, hidden = window(rank=0, world_size=2), window(rank=1, world_size=2)
    assert not shown.bar.disable and hidden.bar.disable


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_images_per_second_counts_every_ranks_images_since_the_window_opened(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(reporting, "perf_counter", clock)
    scalars = window(world_size=2)
    logged = []
    scalars.run.logger.scalars = lambda values, step: logged.append((dict(values), step))
    for step in range(3):
        scalars.add({"train/loss": torch.tensor(1.0)}, step)
    clock.now += 0.5
    scalars.flush(3)
    assert logged == [({"train/loss": 1.0, "perf/images_per_sec": 3 * BATCH * 2 / 0.5,
                        "lr/sgd": 0.5}, 3)]  # fmt: skip
    scalars.flush(3)  # nothing new: nothing logged
    assert len(logged) == 1


def test_the_epoch_time_sums_every_flush_of_the_epoch(monkeypatch, caplog):
    clock = FakeClock()
    monkeypatch.setattr(reporting, "perf_counter", clock)

    class Window:
        def flush(self, step: int) -> None:
            clock.now += 0.25

    timer = reporting.Clock()
    timer.start_epoch()
    clock.now += 4.0
    timer.flush(Window(), 3)
    timer.flush(Window(), 6)
    timer.end_training()  # 4.5 s since the start, 0.5 s of it flushing
    clock.now += 1.0
    timer.end_validation()
    clock.now += 0.125
    with caplog.at_level(logging.INFO, logger="aegan.engine.loop"):
        timer.report_epoch(1, 6)
    assert caplog.messages == [
        "epoch 1 time: training 4 s for 6 steps; logging and validation 1.5 s = 37.50% of it "
        "(scalars 0.5, validation and pictures 1); checkpoints 0.125 s"
    ]


def test_the_epoch_log_lists_every_validation_figure(tmp_path, caplog):
    class TwoFigures(PixelTask):
        def validate(self, batches, amp):
            return {**super().validate(batches, amp), "val/other": 2.0}

    with caplog.at_level(logging.INFO, logger="aegan.engine.loop"):
        _, progress = run_fit(tmp_path, epochs=1, task=TwoFigures(), eval_batch_size=None)
    mse = progress.history[0]["val/mse"]
    assert f"epoch 1/1 step 8: val/mse={mse:.5g} val/other=2" in caplog.messages


def test_a_position_before_any_step_is_the_first_epochs():
    cfg = trainer(epochs=2)
    assert loop._position(Progress(), cfg, 31) == "step 0 (epoch 1/2, batch 0/31)"
    assert loop._position(Progress(epoch=1, step=31), cfg, 31) == "step 31 (end of epoch 1/2)"


def test_rank_1_of_2_trains_its_own_shard_and_saves_nothing(tmp_path):
    task, amp = PixelTask(), Amp("fp32", CPU)
    run = RunContext(amp=amp, logger=TensorBoardLogger(tmp_path or ".", enabled=False),
                     checkpoint_dir=tmp_path / "checkpoints", record={}, seed=SEED,
                     batch_size=BATCH, log_every_steps=3, rank=1, world_size=2)  # fmt: skip
    data = tiny_data()
    progress = fit(task, lambda batch: task.train_step(batch, amp), data, trainer(epochs=2), run)
    shard = DeviceBatches(data.train_images, batch_size=BATCH, seed=SEED, rank=1, world_size=2)
    drawn = [*shard.epoch(0), *shard.epoch(1)]
    assert len(drawn) == 8 and progress.step == 8
    assert all(torch.equal(a, b) for a, b in zip(task.batches, drawn, strict=True))
    assert not (tmp_path / "checkpoints").exists()


def test_a_stop_on_one_of_two_ranks_waits_for_the_others_before_it_raises(tmp_path, monkeypatch):
    """Rank 0 saves, then every rank meets at a barrier: none exits while the save runs."""
    met = []
    monkeypatch.setattr(torch.distributed, "barrier", lambda: met.append("barrier"))
    task, amp = PixelTask(), Amp("fp32", CPU)
    run = RunContext(amp=amp, logger=TensorBoardLogger(tmp_path or ".", enabled=False),
                     checkpoint_dir=tmp_path / "checkpoints", record={}, seed=SEED,
                     batch_size=BATCH, log_every_steps=3, rank=0, world_size=2)  # fmt: skip

    def step(batch):
        run.stop.signal_number = 15
        return task.train_step(batch, amp)

    with pytest.raises(TrainingInterrupted):
        fit(task, step, tiny_data(), trainer(epochs=1), run)
    assert met == ["barrier"] and (tmp_path / "checkpoints" / "last.pt").exists()


def test_an_epoch_that_ends_between_flushes_logs_its_last_steps_at_its_end(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    task, _ = run_fit(tmp_path, log=True, epochs=1)  # flushes at 3 and 6, the epoch ends at 8
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    loss = events.Scalars("train/loss")
    assert [e.step for e in loss] == [3, 6, 8]
    assert loss[-1].value == pytest.approx(sum(task.losses[6:8]) / 2)
