"""The training loop shared by every task: batches, precision, cadence, checkpoints, resume.

Read top to bottom: ``fit`` restores a checkpoint if asked, then for each epoch runs the
task's steps over device-resident batches, flushes the summed scalars every
``log_every_steps`` (the only host sync in the hot path), validates, logs images and
writes ``last.pt`` / ``best.pt``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from aegan.data import DeviceBatches, ImageData, normalized_batches
from aegan.engine.amp import Amp
from aegan.engine.checkpoint import last_good_checkpoint, load_module_state, save_checkpoint
from aegan.engine.interrupt import StopRequest, TrainingInterrupted
from aegan.engine.speed import eval_batch_size, evaluation_threads
from aegan.logger import TensorBoardLogger
from aegan.tasks.base import Task

log = logging.getLogger(__name__)


class NonFiniteError(RuntimeError):
    """The loss became NaN or infinite and ``trainer.on_nonfinite=stop``."""


@dataclass
class Progress:
    """Where a run stands; saved in every checkpoint."""

    epoch: int = 0  # epochs fully done
    batch: int = 0  # batches done in the current epoch
    step: int = 0  # optimisation steps done in all
    best_objective: float = math.inf
    history: list[dict[str, float]] = field(default_factory=list)  # validation per epoch


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_state(task: Task, amp: Amp, progress: Progress, config: dict) -> dict[str, Any]:
    """Everything a resume needs, as tensors and plain containers (loadable weights-only)."""
    return {
        "config": config,
        "epoch": progress.epoch,
        "batch": progress.batch,
        "step": progress.step,
        "best_objective": progress.best_objective,
        "history": progress.history,
        "modules": {name: m.state_dict() for name, m in task.modules.items()},
        "optimizers": {name: o.state_dict() for name, o in task.optimizers.items()},
        "scaler": amp.state_dict(),
        "task": task.extra_state(),
        "rng": _rng_state(),
    }


SPEED_FLAGS = ("capturable", "fused", "foreach")  # how this run steps, not what was learned


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """``optimizer.load_state_dict(state)``, keeping this run's ``SPEED_FLAGS`` (torch would
    take the checkpoint's): a run resumed with other speed switches (``capture_step``, the
    CPU after CUDA graphs, fused Adam or not) steps as configured, with its step counters
    moved where those flags keep them (on the parameters' device when capturable or fused)."""
    flags = [{k: group[k] for k in SPEED_FLAGS if k in group} for group in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, kept in zip(optimizer.param_groups, flags, strict=True):
        group.update(kept)
        on_device = bool(group.get("capturable") or group.get("fused"))
        for param in group["params"]:
            param_state = optimizer.state.get(param, {})
            if torch.is_tensor(param_state.get("step")):
                device = param.device if on_device else torch.device("cpu")
                param_state["step"] = param_state["step"].to(device, torch.float32)


def restore(task: Task, amp: Amp, state: dict[str, Any], *, path: Path | str) -> Progress:
    """Load a checkpoint's weights, optimizer and scaler state and RNG into a built task."""
    for name, module in task.modules.items():
        load_module_state(module, state["modules"][name], name=name, path=path)
    for name, optimizer in task.optimizers.items():
        load_optimizer_state(optimizer, state["optimizers"][name])
    amp.load_state_dict(state["scaler"])
    task.load_extra_state(state["task"])
    _set_rng_state(state["rng"])
    return Progress(
        epoch=state["epoch"],
        batch=state["batch"],
        step=state["step"],
        best_objective=state["best_objective"],
        history=list(state["history"]),
    )


class StepAccumulator:
    """Per-step scalars kept on the device, with the divergence guard; read with one sync.

    Each step's scalars are one row of a device buffer (one ``stack`` per step, the cheapest
    record there is); full buffers are kept until ``read``, which copies the window's rows to
    the host in one go (its one sync) and sums them there, in float64: a handful of NumPy
    calls instead of a fold of ~25 small device ops. A step whose scalars are not all finite
    counts as non-finite (the first such step is remembered) and adds nothing to the sums.
    A change of keys or a gap in the step numbers folds what was recorded first (a sync; the
    engine's steps have neither).
    """

    ROWS = 256  # rows per device buffer (~8 KB); a window of N steps keeps N / ROWS of them

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.steps = 0  # steps since the last read
        self._sums: dict[str, float] = {}
        self._nonfinite = 0
        self._first_nonfinite = -1
        self._keys: list[str] = []
        self._full: list[torch.Tensor] = []  # full (ROWS, K) buffers of this window
        self._buffer = torch.empty(0, device=device)  # (ROWS, K) float32, being filled
        self._rows = 0  # rows filled in _buffer
        self._first_step = 0  # the step of the first recorded row

    def add(self, stats: dict[str, torch.Tensor], step: int) -> None:
        keys = list(stats)
        recorded = len(self._full) * self.ROWS + self._rows
        if recorded and (keys != self._keys or step != self._first_step + recorded):
            self._fold()
            recorded = 0
        if keys != self._keys:
            self._keys = keys
            self._buffer = torch.empty(self.ROWS, len(keys), device=self.device)
        if not recorded:
            self._first_step = step
        if self._rows == self.ROWS:
            self._full.append(self._buffer)
            self._buffer = torch.empty(self.ROWS, len(keys), device=self.device)
            self._rows = 0
        torch.stack(list(stats.values()), out=self._buffer[self._rows])  # (K,) as float32
        self._rows += 1
        self.steps += 1

    def _fold(self) -> None:
        """Add the recorded rows to the host-side sums and non-finite counters."""
        rows = self._buffer[: self._rows]  # (R, K)
        if self._full:
            rows = torch.cat([*self._full, rows])
        values = rows.cpu().numpy().astype(np.float64)  # the one copy to the host (a sync)
        finite = np.isfinite(values).all(axis=1)  # (R,)
        for key, total in zip(self._keys, values[finite].sum(axis=0).tolist(), strict=True):
            self._sums[key] = self._sums.get(key, 0.0) + total
        bad_rows = np.flatnonzero(~finite)
        self._nonfinite += len(bad_rows)
        if len(bad_rows) and self._first_nonfinite < 0:
            self._first_nonfinite = self._first_step + int(bad_rows[0])
        self._full, self._rows = [], 0

    def read(self) -> tuple[dict[str, float], int, int]:
        """(means over the window, non-finite steps, first non-finite step or -1); then reset."""
        if self._rows:  # anything recorded (a full buffer moves to _full with the next row)
            self._fold()
        means = {k: v / max(self.steps, 1) for k, v in self._sums.items()}
        result = (means, self._nonfinite, self._first_nonfinite)
        self._sums, self.steps = {}, 0
        self._nonfinite, self._first_nonfinite = 0, -1
        return result


def run_step(
    task: Task, amp: Amp, images_u8: torch.Tensor, stats: StepAccumulator, step: int
) -> None:
    """One training iteration as the engine runs it (``aegan.bench`` times exactly this)."""
    if task.cudagraphs:  # outputs of the last iteration's graph replays may be overwritten now
        torch.compiler.cudagraph_mark_step_begin()
    losses = (task.fast_train_batch or task.train_batch)(images_u8, amp)  # (B, C, H, W) uint8
    amp.update()
    stats.add(losses, step)


def fit(
    task: Task,
    data: ImageData,
    amp: Amp,
    *,
    trainer_cfg: Any,
    logger: TensorBoardLogger,
    log_every_steps: int,
    checkpoint_dir: Path,
    config: dict,
    seed: int,
    batch_size: int,
    resume_state: dict | None = None,
    resume_path: str | Path = "",
    rank: int = 0,
    world_size: int = 1,
    stop: StopRequest | None = None,
) -> Progress:
    """Train ``task`` for ``trainer_cfg.epochs`` epochs; return where the run ended.

    When ``stop`` gets a signal (``stop_on_signals``), the step in flight finishes (under
    torchrun: the steps up to the next scalar flush, on every rank), a checkpoint is saved
    and ``TrainingInterrupted`` says where.
    """
    stop = stop or StopRequest()
    is_main = rank == 0
    train_batches = DeviceBatches(
        data.train_images, batch_size=batch_size, shuffle=True, drop_last=True, seed=seed,
        rank=rank, world_size=world_size,
    )  # fmt: skip
    steps_per_epoch = len(train_batches)
    val_batch_size = eval_batch_size(trainer_cfg.eval_batch_size, data.val_images.device)

    def position() -> str:
        """Where ``progress`` stands, for the log: "step 41 (epoch 2/2, batch 10/31)"."""
        if progress.batch == 0 and progress.epoch > 0:
            return f"step {progress.step} (end of epoch {progress.epoch}/{trainer_cfg.epochs})"
        return (
            f"step {progress.step} (epoch {progress.epoch + 1}/{trainer_cfg.epochs}, "
            f"batch {progress.batch}/{steps_per_epoch})"
        )

    progress = Progress()
    if resume_state is not None:
        progress = restore(task, amp, resume_state, path=resume_path)
        log.info("resumed from %s at %s", resume_path, position())

    def write_checkpoint(is_best: bool) -> None:
        if is_main:
            save_checkpoint(
                checkpoint_state(task, amp, progress, config), checkpoint_dir,
                step=progress.step, keep=trainer_cfg.keep_checkpoints, is_best=is_best,
            )  # fmt: skip

    bar = tqdm(
        total=steps_per_epoch * trainer_cfg.epochs, initial=progress.step, disable=None if is_main else True,
        dynamic_ncols=True, desc="train", unit="step",
    )  # fmt: skip
    stats = StepAccumulator(data.train_images.device)
    window_start = time.perf_counter()
    skipped_total = 0
    flush_seconds = 0.0  # this epoch's, reported against its training time
    run_train_seconds = run_overhead_seconds = 0.0  # all epochs of this process

    def flush() -> None:
        """Read the summed step scalars (one host sync), log their means, reset.

        Raises ``NonFiniteError`` (on_nonfinite=stop) before anything else is logged or
        saved, so the last checkpoint on disk is the last good one.
        """
        nonlocal window_start, skipped_total, flush_seconds
        stop.agree()  # under torchrun: every rank flushes at the same steps
        window_steps = stats.steps
        if not window_steps:
            return
        flush_start = time.perf_counter()
        scalars, bad_steps, first_bad = stats.read()
        if bad_steps and trainer_cfg.on_nonfinite == "stop":
            raise NonFiniteError(
                f"non-finite loss at step {first_bad + 1}; training stopped, "
                f"{last_good_checkpoint(checkpoint_dir)} "
                "(lower the learning rate, use bf16/fp32, or trainer.on_nonfinite=skip)"
            )
        skipped_total += bad_steps
        elapsed = time.perf_counter() - window_start
        if trainer_cfg.on_nonfinite == "skip":
            scalars["train/skipped_steps"] = skipped_total
        scalars["perf/images_per_sec"] = window_steps * batch_size * world_size / max(elapsed, 1e-9)
        for name, optimizer in task.optimizers.items():
            scalars[f"lr/{name}"] = optimizer.param_groups[0]["lr"]
        logger.scalars(scalars, progress.step)
        shown = {
            k.split("/")[-1]: f"{v:.4g}" for k, v in scalars.items() if not k.startswith("lr/")
        }
        bar.set_postfix(shown)
        window_start = time.perf_counter()
        flush_seconds += window_start - flush_start

    def stop_training() -> None:
        """After a stop signal, with the checkpoint written: say where, and how to go on."""
        bar.close()
        logger.flush()
        if world_size > 1:
            torch.distributed.barrier()  # no rank exits before rank 0 has saved
        raise TrainingInterrupted(
            f"stopped by {stop.name} at {position()}; saved {checkpoint_dir / 'last.pt'}. "
            f"Continue with the same command and trainer.resume={checkpoint_dir.parent}",
            stop.signal_number,
            progress.step,
        )

    while progress.epoch < trainer_cfg.epochs:
        task.train()
        epoch_start = window_start = time.perf_counter()
        flush_seconds = 0.0
        for images_u8 in train_batches.epoch(progress.epoch, start_batch=progress.batch):
            run_step(task, amp, images_u8, stats, progress.step)
            progress.step += 1
            progress.batch += 1
            bar.update(1)
            if progress.step % log_every_steps == 0:
                flush()
            if (
                trainer_cfg.checkpoint_every_steps
                and progress.step % trainer_cfg.checkpoint_every_steps == 0
            ):
                flush()  # the divergence guard runs before anything is saved
                write_checkpoint(is_best=False)
            if stop.signal_number:
                break
        flush()
        if stop.signal_number and progress.batch < steps_per_epoch:
            write_checkpoint(is_best=False)  # the finished steps; a resume takes the next batch
            stop_training()
        progress.epoch += 1
        progress.batch = 0

        validate_start = time.perf_counter()
        train_seconds = validate_start - epoch_start - flush_seconds
        task.eval()
        with evaluation_threads(data.val_images.device):
            metrics = task.validate(
                normalized_batches(data.val_images, val_batch_size, task.pixel_range), amp
            )
            metrics["epoch"] = progress.epoch
            progress.history.append(metrics)
            log_start = time.perf_counter()
            if is_main:
                logger.scalars({k: v for k, v in metrics.items() if k != "epoch"}, progress.step)
                task.log_epoch(logger, progress.step)
                logger.flush()
        log_end = time.perf_counter()
        objective = metrics[task.objective]
        is_best = objective < progress.best_objective
        if is_best:
            progress.best_objective = objective
        log.info(
            "epoch %d/%d step %d: %s", progress.epoch, trainer_cfg.epochs, progress.step,
            " ".join(f"{k}={v:.5g}" for k, v in metrics.items() if k != "epoch"),
        )  # fmt: skip
        write_checkpoint(is_best=is_best)
        validate_seconds, log_seconds = log_start - validate_start, log_end - log_start
        overhead = flush_seconds + validate_seconds + log_seconds
        run_train_seconds += train_seconds
        run_overhead_seconds += overhead
        log.info(
            "epoch %d time: training %.2f s; logging and validation %.3f s = %.2f%% of it "
            "(scalars %.3f, validation %.3f, images %.3f); checkpoints %.3f s",
            progress.epoch, train_seconds, overhead, 100 * overhead / max(train_seconds, 1e-9),
            flush_seconds, validate_seconds, log_seconds, time.perf_counter() - log_end,
        )  # fmt: skip
        if stop.signal_number:  # it came in the epoch's last step, validation or saving
            stop_training()
    bar.close()
    if run_train_seconds:
        log.info(
            "training %.1f s; logging and validation %.2f s = %.2f%% of it", run_train_seconds,
            run_overhead_seconds, 100 * run_overhead_seconds / run_train_seconds,
        )  # fmt: skip
    return progress
