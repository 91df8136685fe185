"""What the training loop shows as it trains: the step scalars of a window of steps, read
with one sync, logged, guarded against divergence and drawn on the progress bar, the steps
skipped for a non-finite loss, and the time logging and validation cost against training.
"""

from __future__ import annotations

import logging
from time import perf_counter

import torch
from tqdm.auto import tqdm

from aegan.contract import (
    BEST_OBJECTIVE,
    STEP_PREFIX,
    VALIDATION_PREFIX,
    Task,
    is_printable_name,
)
from aegan.engine.context import RunContext
from aegan.engine.failed_write import last_good_checkpoint
from aegan.engine.scalars import StepAccumulator, bad_step_line
from aegan.errors import ContractError, NonFiniteError, a_kind
from aegan.io.readback import shown_read_value

# the loop's console lines, under the one name a user sets a level for
log = logging.getLogger("aegan.engine.loop")
SKIPPED = "train/skipped_steps"  # the loop's own count, beside the task's step scalars


class ScalarWindow:
    """The step scalars of the last ``log_every_steps`` steps: summed on the device, read
    and logged with one sync (``flush``), with the divergence guard and the progress bar."""

    def __init__(self, task: Task, run: RunContext, trainer_cfg, total_steps: int, done: int):
        self.task, self.run, self.on_nonfinite = task, run, trainer_cfg.on_nonfinite
        self.stats = StepAccumulator()
        self.skipped_total = self.skipped_said = self.skipped_before = 0
        self.started = perf_counter()
        self.carried_seconds = 0.0  # of the window a resumed checkpoint left open
        self.checked = False  # the window's first step: its scalars are the task's contract
        self.bar = tqdm(
            total=total_steps, initial=done, disable=None if run.is_main else True,
            dynamic_ncols=True, desc="train", unit="step",
        )  # fmt: skip

    def restart_timer(self) -> None:
        """Images/s counts training time only: from here, not from before validation."""
        self.started = perf_counter() - self.carried_seconds
        self.carried_seconds = 0.0

    def add(self, stats: dict[str, torch.Tensor], step: int) -> None:
        if not self.checked:  # a window's first step: what the task's train_step gives
            check_step_scalars(self.task, stats)
            self.checked = True
        try:
            self.stats.add(stats, step)
        except (TypeError, RuntimeError, AttributeError):  # a later step's that breaks it:
            check_step_scalars(self.task, stats)  # the rule it broke, at no cost per step
            raise
        self.bar.update(1)

    def state(self) -> dict:
        """What a checkpoint keeps of the window: the steps since the last point (empty
        but at a stop), their time, and the steps skipped so far (``hold`` first)."""
        seconds = perf_counter() - self.started if self.stats.steps else 0.0
        return {**self.stats.state(), "seconds": seconds, "skipped": self.skipped_total}

    def restore(self, state: dict | None) -> None:
        """Continue the window of a checkpoint's ``state`` (None: an older file, which kept
        none: the steps before its stop are left out of the next point)."""
        if state is not None:
            self.stats.load_state(state)
            self.carried_seconds = float(state["seconds"])
            self.skipped_total = self.skipped_said = self.skipped_before = state["skipped"]

    def hold(self) -> None:
        """At a stop between two points: the divergence guard of ``flush``, but the window
        is kept for the checkpoint, not logged: a run that never stopped logs no point here,
        and the resume's first point is the mean over the whole window."""
        self._agreed_nonfinite()

    def _agreed_nonfinite(self) -> tuple[int, int]:
        """(non-finite steps, the first or -1) of the window; raises ``NonFiniteError``
        (on_nonfinite=stop) before anything is logged or saved, so the last checkpoint on
        disk is the last good one."""
        bad_steps, first_bad = self.stats.nonfinite() if self.stats.steps else (0, -1)
        own_first = first_bad
        # a signal on any rank, and one rank's bad loss (it went into every rank's averaged
        # step): all stop, or none
        first = first_bad if first_bad >= 0 else 2**62
        bad_steps, negative_first = self.run.stop.agree([bad_steps, -first])
        first_bad = -negative_first if bad_steps else -1
        if bad_steps and self.on_nonfinite == "stop":  # its scalars named where they are ours
            scalars = self.stats.first_bad if own_first == first_bad else {}
            where = last_good_checkpoint(self.run.checkpoint_dir)
            raise NonFiniteError(bad_step_line(first_bad + 1, scalars, where))
        return bad_steps, first_bad

    def flush(self, step: int) -> None:
        """Read the summed scalars, log their means, reset (after ``_agreed_nonfinite``)."""
        steps = self.stats.steps  # under torchrun every rank flushes at the same steps
        bad_steps, _ = self._agreed_nonfinite()
        if not steps:
            return
        scalars, _, _ = self.stats.read()
        self.checked = False
        self.skipped_total += bad_steps
        if self.on_nonfinite == "skip":
            scalars[SKIPPED] = self.skipped_total
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
        the last report (``since_start``: since this process began), if any."""
        skipped = self.skipped_total - (self.skipped_before if since_start else self.skipped_said)
        self.skipped_said = self.skipped_total
        if skipped:
            log.warning("%s: %d of %d steps skipped, their loss not finite "
                        "(trainer.on_nonfinite=skip)", when, skipped, steps)  # fmt: skip

    def close(self) -> None:
        self.bar.close()


def check_step_scalars(task: Task, stats: dict) -> None:
    """``train_step`` returns 0-d tensors by name, read in windows: anything else (a float,
    a batch of values, a name that is no string, a tensor still in the graph, a complex one,
    one on another device) is the task's mistake, said in one line, not a traceback from
    the reader."""
    if not isinstance(stats, dict) or not stats:  # nothing to log, nor to guard as finite
        raise ContractError(
            f"{type(task).__name__}.train_step returned {shown_read_value(stats)}; it must return a "
            "dict of named 0-d tensors, its loss among them"
        )
    for key in stats:  # one curve each: a name of validate's or the loop's mixes two
        if is_printable_name(key) and (not key.startswith(STEP_PREFIX) or key == SKIPPED):
            raise ContractError(
                f"{type(task).__name__}.train_step returned the name {key!r:.60}; its scalars "
                f"are named {STEP_PREFIX}..., other than {SKIPPED} (the loop's), as "
                f"{VALIDATION_PREFIX}... are validate's and lr/, perf/ the loop's"
            )
    devices = {value.device for value in stats.values() if isinstance(value, torch.Tensor)}
    for key, value in stats.items():
        problem = _step_scalar_problem(key, value, len(devices) > 1)
        if problem:
            raise ContractError(
                f"{type(task).__name__}.train_step returned {problem}; it must return 0-d "
                "real tensors by name (str), detached, on the task's device (no .item(): a "
                "sync each step)"
            )


def _step_scalar_problem(key: object, value: object, devices_differ: bool) -> str | None:
    """What is wrong with one of ``train_step``'s scalars, or None."""
    if not is_printable_name(key):
        return f"the name {shown_read_value(key)}, not a printable string"
    if not isinstance(value, torch.Tensor):
        return f"{key} as {a_kind(type(value).__name__)}"
    if value.dim() != 0:
        return f"{key} as a tensor of shape {tuple(value.shape)}"
    if value.requires_grad:  # summed into the window, it would keep every step's graph
        return f"{key} still requiring grad (not detached)"
    if value.is_complex():
        return f"{key} as a {value.dtype} tensor"
    if value.device.type == "meta" or devices_differ:
        return f"{key} on the {value.device} device"
    return None


def check_validation(task: Task, metrics: object) -> None:
    """``validate`` returns floats by name, its objective among them: anything else (a
    tensor, a string, a name that is no string, no dict at all) is the task's mistake, said
    in one line, before it is logged, compared or kept in a checkpoint's history."""
    name = type(task).__name__
    if not isinstance(metrics, dict):
        raise ContractError(
            f"{name}.validate returned {shown_read_value(metrics)}; it must return a dict of "
            f"floats by name, its objective {task.objective} among them"
        )
    for key, value in metrics.items():
        if not is_printable_name(key):
            raise ContractError(
                f"{name}.validate returned the name {shown_read_value(key)}, not a printable string"
            )
        if not key.startswith(VALIDATION_PREFIX) or key == BEST_OBJECTIVE:  # else logged, and
            # left out of metrics.json, or overwritten in it by the engine's own
            raise ContractError(
                f"{name}.validate returned the name {shown_read_value(key)}; its figures are named "
                f"{VALIDATION_PREFIX}..., as metrics.json keeps training's figures by it, "
                f"other than {BEST_OBJECTIVE} (the engine's)"
            )
        if isinstance(value, bool) or not isinstance(value, (float, int)) or _past_floats(value):
            raise ContractError(
                f"{name}.validate returned {key} as {shown_read_value(value)}; it must return "
                "floats (.item() of a tensor)"
            )
    if task.objective not in metrics:  # else a KeyError's traceback, an epoch in
        raise ContractError(
            f"{name}.validate returned {', '.join(metrics) or 'nothing'}, not its objective "
            f"{task.objective}"
        )


def _past_floats(value: float) -> bool:
    """An integer no float holds: TensorBoard and metrics.json failed on it (OverflowError)."""
    try:
        float(value)
    except OverflowError:
        return True
    return False


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

    def report_epoch(self, epoch: int, steps: int) -> None:
        """The epoch's times; ``steps``, those it timed (after a resume, the rest of it)."""
        training = self.train_end - self.epoch_start - self.flush_seconds
        validation = self.validation_end - self.train_end
        overhead = self.flush_seconds + validation
        self.run_train_seconds += training
        self.run_overhead_seconds += overhead
        log.info(
            "epoch %d time: training %.4g s for %d steps; logging and validation %.4g s = "
            "%.2f%% of it (scalars %.4g, validation and pictures %.4g); checkpoints %.4g s",
            epoch, training, steps, overhead, 100 * overhead / max(training, 1e-9),
            self.flush_seconds, validation, perf_counter() - self.validation_end,
        )  # fmt: skip

    def report_run(self) -> None:
        if self.run_train_seconds:
            log.info(
                "training %.4g s; logging and validation %.4g s = %.2f%% of it",
                self.run_train_seconds, self.run_overhead_seconds,
                100 * self.run_overhead_seconds / self.run_train_seconds,
            )  # fmt: skip
