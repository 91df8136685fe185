"""The training loop shared by every task: batches, cadence, validation, checkpoints, resume.

Read ``fit`` top to bottom: it restores a checkpoint if asked, then for each epoch runs the
step over device-resident batches, flushes the summed scalars every ``log_every_steps``
(the only host sync in the hot path), validates, logs the task's pictures and writes
``last.pt`` / ``best.pt``. A stop signal ends it after the step in flight, saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

import torch
from tqdm.auto import tqdm

from aegan.amp import Amp
from aegan.contract import Task
from aegan.data import DeviceBatches, ImageData
from aegan.engine.checkpoint import last_good_checkpoint, save_checkpoint
from aegan.engine.device import eval_batch_size, evaluation_threads
from aegan.engine.interrupt import StopRequest, TrainingInterrupted
from aegan.engine.scalars import StepAccumulator
from aegan.engine.state import Progress, checkpoint_state, restore
from aegan.errors import CheckpointError, NonFiniteError

log = logging.getLogger(__name__)


@dataclass
class RunContext:
    """What ``fit`` needs of the run around it."""

    amp: Amp  # autocast for validation, the scaler state in checkpoints
    logger: Any  # aegan.logger.TensorBoardLogger (disabled on ranks other than 0)
    checkpoint_dir: Path
    record: dict  # {"config": ..., "choices": ...}: plain values, saved in every checkpoint
    seed: int
    batch_size: int  # per process
    log_every_steps: int
    rank: int = 0
    world_size: int = 1
    stop: StopRequest = field(default_factory=StopRequest)
    resume: tuple[dict, Path] | None = None  # (checkpoint state, its path)
    # called once the resume's checkpoint is restored: only then is the run folder's record
    # this command's (a refused resume leaves the trained run's record as it was)
    on_restored: Callable[[], None] | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def fit(
    task: Task,
    step: Callable[[torch.Tensor], dict[str, torch.Tensor]],
    data: ImageData,
    trainer_cfg: Any,
    run: RunContext,
) -> Progress:
    """Train ``task`` with ``step`` (``aegan.speed.build_step``) for ``trainer_cfg.epochs``
    epochs; return where the run ended. Under torchrun every rank calls it."""
    batches = DeviceBatches(  # shuffled each epoch, whole batches only (its defaults)
        data.train_images, batch_size=run.batch_size, seed=run.seed, rank=run.rank,
        world_size=run.world_size, binarize=data.binarize_train,
        labels=data.train_labels if task.uses_labels else None,
    )  # fmt: skip
    progress = Progress()
    if run.resume is not None:
        progress = restore(task, run.amp, run.resume[0], path=run.resume[1])
        if progress.batch > len(batches):  # an epoch of another length: its order is not ours
            raise CheckpointError(
                f"{run.resume[1]}: it stopped at batch {progress.batch} of an epoch; this run "
                f"has {len(batches)} batches an epoch (other data, batch size or processes?)"
            )
        log.info(
            "resumed from %s at %s", run.resume[1], _position(progress, trainer_cfg, len(batches))
        )
        if run.on_restored is not None:
            run.on_restored()
    total_steps = len(batches) * trainer_cfg.epochs
    window = ScalarWindow(task, run, trainer_cfg, total_steps, progress.step)
    clock = Clock()
    first_step = progress.step
    while progress.epoch < trainer_cfg.epochs:
        epoch_step = progress.step
        task.train()
        clock.start_epoch()
        window.restart_timer()
        for images_u8 in batches.epoch(progress.epoch, start_batch=progress.batch):
            window.add(step(images_u8), progress.step)
            progress.step += 1
            progress.batch += 1
            if progress.step % run.log_every_steps == 0:
                clock.flush(window, progress.step)
            every = trainer_cfg.checkpoint_every_steps
            if every and progress.step % every == 0:
                clock.flush(window, progress.step)  # the divergence guard runs before a save
                _save(task, run, progress, trainer_cfg, is_best=False)
            if run.stop.signal_number:
                break
        clock.flush(window, progress.step)
        if run.stop.signal_number and progress.batch < len(batches):
            _save(task, run, progress, trainer_cfg, is_best=False)  # a resume takes the next batch
            _stop(run, window, progress, trainer_cfg, len(batches))
        progress.epoch, progress.batch = progress.epoch + 1, 0
        clock.end_training()
        is_best = _validate(task, data, run, progress, trainer_cfg)
        clock.end_validation()
        _save(task, run, progress, trainer_cfg, is_best=is_best)
        clock.report_epoch(progress.epoch)
        window.report_skipped(f"epoch {progress.epoch}", progress.step - epoch_step)
        if run.stop.signal_number:  # it came in the epoch's last step, validation or saving
            _stop(run, window, progress, trainer_cfg, len(batches))
    window.close()
    clock.report_run()
    _check_trained(task, progress, window, progress.step - first_step)
    return progress


def _check_trained(task: Task, progress: Progress, window: ScalarWindow, steps: int) -> None:
    """Raise ``NonFiniteError`` for a run that trained nothing (every step skipped) or whose
    objective was never finite: checkpoints are kept, but it is no success."""
    window.report_skipped("training", steps, since_start=True)
    if steps and window.skipped_total >= steps:
        raise NonFiniteError(
            f"every one of the {steps} steps had a non-finite loss and was skipped "
            "(trainer.on_nonfinite=skip): nothing was trained; lower the learning rate or use "
            "bf16/fp32"
        )
    if progress.history and progress.best_objective == float("inf"):
        last = progress.history[-1].get(task.objective)
        raise NonFiniteError(
            f"the validation objective {task.objective} was never finite (last: {last}): "
            "no weights to keep; lower the learning rate or use bf16/fp32"
        )


def _validate(
    task: Task, data: ImageData, run: RunContext, progress: Progress, trainer_cfg
) -> bool:
    """Validate, log the figures and the task's pictures; return whether this is the best
    epoch by the task's objective. Evaluation runs eager, on every core."""
    device = data.val_images.device
    batch_size = eval_batch_size(trainer_cfg.eval_batch_size, device)
    task.train(False)
    with evaluation_threads(device):
        batches = (
            data.val_images[i : i + batch_size] for i in range(0, len(data.val_images), batch_size)
        )
        metrics = task.validate(batches, run.amp)
        if run.is_main:
            run.logger.scalars(metrics, progress.step)
            task.log_epoch(run.logger, data, progress.step)
            run.logger.flush()
    progress.history.append({**metrics, "epoch": progress.epoch})
    objective = metrics[task.objective]
    is_best = objective < progress.best_objective
    if is_best:
        progress.best_objective = objective
    shown = " ".join(f"{k}={v:.5g}" for k, v in metrics.items())
    log.info("epoch %d/%d step %d: %s", progress.epoch, trainer_cfg.epochs, progress.step, shown)
    return is_best


def _save(task: Task, run: RunContext, progress: Progress, trainer_cfg, *, is_best: bool) -> None:
    if run.is_main:
        save_checkpoint(
            checkpoint_state(task, run.amp, progress, run.record), run.checkpoint_dir,
            step=progress.step, keep=trainer_cfg.keep_checkpoints, is_best=is_best,
        )  # fmt: skip


def _position(progress: Progress, trainer_cfg, steps_per_epoch: int) -> str:
    """Where ``progress`` stands, for the log: "step 41 (epoch 2/2, batch 10/31)"."""
    if progress.batch == 0 and progress.epoch > 0:
        return f"step {progress.step} (end of epoch {progress.epoch}/{trainer_cfg.epochs})"
    return (
        f"step {progress.step} (epoch {progress.epoch + 1}/{trainer_cfg.epochs}, "
        f"batch {progress.batch}/{steps_per_epoch})"
    )


def _stop(run: RunContext, window: ScalarWindow, progress, trainer_cfg, steps_per_epoch) -> None:
    """After a stop signal, with the checkpoint written: say where, and how to go on."""
    window.close()
    run.logger.flush()
    if run.world_size > 1:
        torch.distributed.barrier()  # no rank exits before rank 0 has saved
    raise TrainingInterrupted(
        f"stopped by {run.stop.name} at {_position(progress, trainer_cfg, steps_per_epoch)}; "
        f"saved {run.checkpoint_dir / 'last.pt'}. Continue with the same command and "
        f"trainer.resume={run.checkpoint_dir.parent}",
        run.stop.signal_number,
        progress.step,
    )


class ScalarWindow:
    """The step scalars of the last ``log_every_steps`` steps: summed on the device, read
    and logged with one sync (``flush``), with the divergence guard and the progress bar."""

    def __init__(self, task: Task, run: RunContext, trainer_cfg, total_steps: int, done: int):
        self.task, self.run, self.on_nonfinite = task, run, trainer_cfg.on_nonfinite
        self.stats = StepAccumulator()
        self.skipped_total = self.skipped_said = 0
        self.started = perf_counter()
        self.bar = tqdm(
            total=total_steps, initial=done, disable=None if run.is_main else True,
            dynamic_ncols=True, desc="train", unit="step",
        )  # fmt: skip

    def restart_timer(self) -> None:
        """Images/s counts training time only: from here, not from before validation."""
        self.started = perf_counter()

    def add(self, stats: dict[str, torch.Tensor], step: int) -> None:
        self.stats.add(stats, step)
        self.bar.update(1)

    def flush(self, step: int) -> None:
        """Read the summed scalars, log their means, reset. Raises ``NonFiniteError``
        (on_nonfinite=stop) before anything is logged or saved, so the last checkpoint on
        disk is the last good one."""
        self.run.stop.agree()  # under torchrun: every rank flushes at the same steps
        steps = self.stats.steps
        if not steps:
            return
        scalars, bad_steps, first_bad = self.stats.read()
        if bad_steps and self.on_nonfinite == "stop":
            raise NonFiniteError(
                f"non-finite loss at step {first_bad + 1}; training stopped, "
                f"{last_good_checkpoint(self.run.checkpoint_dir)} "
                "(lower the learning rate, use bf16/fp32, or trainer.on_nonfinite=skip)"
            )
        self.skipped_total += bad_steps
        if self.on_nonfinite == "skip":
            scalars["train/skipped_steps"] = self.skipped_total
        elapsed = max(perf_counter() - self.started, 1e-9)
        scalars["perf/images_per_sec"] = steps * self.run.batch_size * self.run.world_size / elapsed
        for name, optimizer in self.task.optimizers.items():
            scalars[f"lr/{name}"] = optimizer.param_groups[0]["lr"]
        self.run.logger.scalars(scalars, step)
        self.bar.set_postfix(
            {k.split("/")[-1]: f"{v:.4g}" for k, v in scalars.items() if not k.startswith("lr/")}
        )
        self.started = perf_counter()

    def report_skipped(self, when: str, steps: int, *, since_start: bool = False) -> None:
        """Say on the console how many of ``steps`` were skipped for a non-finite loss since
        the last report (``since_start``: in all), if any."""
        skipped = self.skipped_total - (0 if since_start else self.skipped_said)
        self.skipped_said = self.skipped_total
        if skipped:
            log.warning("%s: %d of %d steps skipped, their loss not finite "
                        "(trainer.on_nonfinite=skip)", when, skipped, steps)  # fmt: skip

    def close(self) -> None:
        self.bar.close()


class Clock:
    """The cost of logging and validation against training time, per epoch and per run."""

    epoch_start: float  # perf_counter() readings of this epoch, set as it goes
    train_end: float
    validation_end: float
    flush_seconds: float  # of this epoch

    def __init__(self) -> None:
        self.run_train_seconds = self.run_overhead_seconds = 0.0

    def start_epoch(self) -> None:
        self.epoch_start, self.flush_seconds = perf_counter(), 0.0

    def flush(self, window: ScalarWindow, step: int) -> None:
        """``window.flush(step)``, timed as logging."""
        start = perf_counter()
        window.flush(step)
        self.flush_seconds += perf_counter() - start

    def end_training(self) -> None:
        self.train_end = perf_counter()

    def end_validation(self) -> None:
        self.validation_end = perf_counter()

    def report_epoch(self, epoch: int) -> None:
        training = self.train_end - self.epoch_start - self.flush_seconds
        validation = self.validation_end - self.train_end
        overhead = self.flush_seconds + validation
        self.run_train_seconds += training
        self.run_overhead_seconds += overhead
        log.info(
            "epoch %d time: training %.4g s; logging and validation %.4g s = %.2f%% of it "
            "(scalars %.4g, validation and pictures %.4g); checkpoints %.4g s",
            epoch, training, overhead, 100 * overhead / max(training, 1e-9), self.flush_seconds,
            validation, perf_counter() - self.validation_end,
        )  # fmt: skip

    def report_run(self) -> None:
        if self.run_train_seconds:
            log.info(
                "training %.4g s; logging and validation %.4g s = %.2f%% of it",
                self.run_train_seconds, self.run_overhead_seconds,
                100 * self.run_overhead_seconds / self.run_train_seconds,
            )  # fmt: skip
