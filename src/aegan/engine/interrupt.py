"""Ctrl-C, SIGTERM (a cluster's preemption, ``kill``) and SIGHUP (the terminal that started
the run closed) end training at a step boundary; a signal the process ignores (SIGHUP under
``nohup``) stays ignored.

Within ``stop_on_signals`` the first of them only records the signal; ``fit``
stops after the step in flight, saves a checkpoint of the finished steps (mid-epoch: a
resume continues at the next batch) and raises ``TrainingInterrupted``. A second SIGINT
stops a single process at once, as Python's default does: in a run's folder, a
``TrainingInterrupted`` that names the last checkpoint written, not a bare Ctrl-C. Once
training has ended (``alone``: the final evaluation, the codes, the hparams) there is no
step to finish and everything trained is written: the first signal stops at once; in an
epoch's validation (``at_once``), or in its last step, it stops before the validation ends
or begins, and the epoch is saved unvalidated; in a metric of ``aegan.evaluate``, it stops
the metric, nothing written.

Under ``torchrun`` every rank must stop after the same step, so a rank's signal counts
only once the ranks agree on it: at the next scalar flush (``agree``, one all-reduce
where the loop reads its scalars anyway), or sooner, every few seconds of steps
(``check``). There a repeated signal is ignored: torchrun's
agent forwards the terminal's Ctrl-C, so each rank gets it twice, and kills the ranks
itself 30 s later.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import torch
import torch.distributed as dist

from aegan.engine.failed_write import continued_in_its_folder, last_good, last_good_checkpoint
from aegan.signals.held_stops import after_held
from aegan.signals.starting_signals import SETTING_UP, work_began
from aegan.signals.sweep_stops import stop_while_starting

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
CHECK_EVERY_S = 5.0  # under torchrun, a signal is acted on within about this long


class TrainingInterrupted(BaseException):
    """Training stopped on a signal after saving its checkpoint; the message says where.
    Not an ``Exception``, as KeyboardInterrupt is not: a handler raises it where the signal
    came, and code that catches those there (a log line's handler, which reports its own
    failure and goes on) took the stop for a failure of its own: the run went on."""

    def __init__(
        self, message: str, signal_number: int, step: int, phase: str = "training"
    ) -> None:
        super().__init__(message)
        self.signal_number = signal_number
        self.signal_name = signal.Signals(signal_number).name
        self.step = step  # the step saved in last.pt
        self.phase = phase  # setup | training | evaluation
        self.exit_code = 128 + signal_number  # what a shell reports for a process the signal ended


class StopNow(BaseException):
    """A signal where there is nothing to finish (an epoch's validation, a metric of an
    evaluation): leave it at once. Not an ``Exception``, as KeyboardInterrupt is not: code
    that catches those (a cached classifier's load, a task's validate) lets it through."""


class StopRequest:
    """Whether training should stop: ``signal_number`` is the signal to stop for (0: none)."""

    def __init__(
        self, world_size: int = 1, device: torch.device | str = "cpu",
        run_dir: Path | None = None, phase: str = "training",
    ) -> None:  # fmt: skip
        self.world_size, self.device, self.run_dir = world_size, torch.device(device), run_dir
        self.signal_number = 0  # what fit acts on
        self.received = 0  # the first signal this process got
        self.saved_step = 0  # the step of the last checkpoint written or resumed from
        # "setup" while a trained run's folder is not yet this run's (its resume not begun),
        # "evaluation" once training has ended
        self.phase = phase
        self.next_check = 0  # the step of the next agreement of ``check``
        self.at_once_now = False  # within ``at_once``
        self.checked: tuple[int, float] | None = None  # (step, time) of the last one

    @property
    def name(self) -> str:
        return signal.Signals(self.signal_number).name

    def agree(self, values: list[int] = ()) -> list[int]:
        """Under torchrun: stop if any rank got a signal, and each of ``values`` as its
        largest over the ranks, so that all take the same decision from them. Call it where
        every rank is at the same step; one all-reduce and a host read."""
        if self.world_size == 1:
            return list(values)
        flags = torch.tensor([self.received, *values], dtype=torch.int64, device=self.device)
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        self.signal_number, *agreed = (int(v) for v in flags.tolist())
        return agreed

    def check(self, step: int) -> None:
        """Under torchrun, after ``step``: agree on a signal about every ``CHECK_EVERY_S``.
        Scalar flushes alone came too seldom where steps are slow (a DCGAN on the CPU: 200
        steps in 30-60 s), and torchrun kills its ranks 30 s after forwarding a signal:
        every rank died without saving. The steps to the next agreement come from the
        slowest rank's time, agreed, so that every rank agrees after the same steps."""
        if self.world_size == 1 or step < self.next_check:
            return
        now = time.perf_counter()
        if self.checked is None:  # the first: from here the steps are timed
            self.agree()
            self.checked, self.next_check = (step, now), step + 1
            return
        (slowest_ms,) = self.agree([round((now - self.checked[1]) * 1000)])
        steps, self.checked = step - self.checked[0], (step, now)
        self.next_check = step + max(1, int(steps * CHECK_EVERY_S * 1000 / max(slowest_ms, 1)))

    @contextmanager
    def at_once(self) -> Iterator[None]:
        """Within the block (an epoch's validation: its training is whole; a metric of
        ``aegan.evaluate``: nothing is written before all are computed) a signal raises
        ``StopNow`` at once: waiting for the validation to end outlasted a cluster's grace
        period (torchrun's: 30 s), and the epoch was lost. One that came before it (in the
        epoch's last step or its flush) raises it on entering. Under torchrun the ranks
        then agree (``agree``), as some may have validated on."""
        if self.received or self.signal_number:  # this rank's, or one the ranks agreed on
            raise StopNow
        self.at_once_now = True
        try:
            yield
        finally:
            self.at_once_now = False

    def alone(self) -> None:
        """Training has ended and this process goes on alone (rank 0's final evaluation):
        act on its own signals from now on, at once, one already received included: all
        that was trained is written, and no agreement is coming from the other ranks."""
        self.world_size = 1
        self.phase = "evaluation"
        if self.received:  # it came after the last step was saved: not acted on yet
            self._handle(self.received, None)

    def after_training(self, signal_number: int) -> TrainingInterrupted:
        """A stop once training has ended: the trained run is intact, and how to evaluate it."""
        name = signal.Signals(signal_number).name
        return TrainingInterrupted(
            f"stopped by {name} after training ended; the trained run is intact: evaluate it "
            f"with python -m aegan.evaluate run={self.run_dir}", signal_number, self.saved_step,
            self.phase,
        )  # fmt: skip

    def stopped_at_once(self, run_dir: Path) -> TrainingInterrupted:
        """What a second Ctrl-C in ``run_dir``'s run stopped, and how to go on from the last
        checkpoint (the steps after it are lost); in setup, nothing."""
        if self.phase == "setup":  # a trained run's folder, its resume not begun: as it was
            return stopped_setting_up(signal.SIGINT)
        folder = run_dir / "checkpoints"
        go_on = (continued_in_its_folder(run_dir) if last_good(folder) else
                 ": run the same command again")  # fmt: skip
        after = "; the steps since the last checkpoint are not saved; "
        after += last_good_checkpoint(folder) + go_on
        return TrainingInterrupted(
            f"stopped at once by a second SIGINT{after}", signal.SIGINT, self.saved_step,
            self.phase,
        )  # fmt: skip

    def _handle(self, signal_number: int, frame: FrameType | None) -> None:
        if self.phase == "evaluation" and self.run_dir is not None:
            self.received = self.received or signal_number
            self.signal_number = self.received
            raise self.after_training(self.signal_number)  # nothing in flight to save
        if self.at_once_now:
            self.at_once_now = False  # once: the second Ctrl-C is as in training
            self.received = self.received or signal_number
            self.signal_number = self.received if self.world_size == 1 else 0
            raise StopNow
        if self.world_size > 1:
            self.received = self.received or signal_number  # acted on at the next agree()
            return
        if self.received and signal_number == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now, the last checkpoint stays
        self.received = self.received or signal_number
        self.signal_number = self.received


@contextmanager
def stop_on_signals(
    world_size: int = 1, device: torch.device | str = "cpu", run_dir: Path | None = None,
    resuming: bool = False,
) -> Iterator[StopRequest]:  # fmt: skip
    """Within the block, a stop signal sets the yielded request instead of killing
    (in the main thread; elsewhere signals keep their handlers). A second Ctrl-C in the run
    of ``run_dir`` leaves it as ``StopRequest.stopped_at_once``; ``resuming`` a trained
    run in its folder, one before the resume begins leaves it as a stop in setup."""
    request = StopRequest(world_size, device, run_dir, "setup" if resuming else "training")
    work_began()  # a signal after the block is no longer one before the work
    with _stop_signals_to(request._handle):
        try:
            yield request
        except KeyboardInterrupt:
            if run_dir is None or not request.received:  # not the handler's second Ctrl-C
                raise
            raise request.stopped_at_once(run_dir) from None


@contextmanager
def stop_before_training() -> Iterator[None]:
    """Within the block (a run's setup: its checks, the data read, the networks built),
    a stop signal raises ``TrainingInterrupted`` at once, phase "setup": there is no step to
    finish and nothing to save, and the default handler would end the run without a word."""

    def stop(signal_number: int, frame: FrameType | None) -> None:
        raise stopped_setting_up(signal_number)

    with _stop_signals_to(stop):
        yield


def stopped_setting_up(signal_number: int) -> TrainingInterrupted:
    """A stop before the first step: nothing to save, nothing of a folder's run changed."""
    name = signal.Signals(signal_number).name
    return TrainingInterrupted(f"stopped by {name} {SETTING_UP}", signal_number, 0, "setup")


@contextmanager
def _stop_signals_to(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """The stop signals go to ``handler`` within the block, and back to their handlers after
    it, but for one the process ignores (``nohup``'s SIGHUP); elsewhere than in the main
    thread, where Python allows no handler, they stay. One a sweep's worker recorded since
    its job started goes to ``handler`` as the block begins; one inside a TensorBoard write,
    as the write ends (``held_stops``: an exception there left its writer thread asleep)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        number: signal.signal(number, after_held(handler))
        for number in STOP_SIGNALS
        if signal.getsignal(number) is not signal.SIG_IGN
    }
    try:
        if pending := stop_while_starting():  # a sweep worker's, before these handlers
            handler(pending, None)
        yield
    finally:
        for number, earlier in previous.items():
            signal.signal(number, earlier)
