"""Ctrl-C and SIGTERM (a cluster's preemption, ``kill``) end training at a step boundary.

Within ``stop_on_signals`` the first SIGINT or SIGTERM only records the signal; ``fit``
stops after the step in flight, saves a checkpoint of the finished steps (mid-epoch: a
resume continues at the next batch) and raises ``TrainingInterrupted``. A second SIGINT
stops a single process at once, as Python's default does.

Under ``torchrun`` every rank must stop after the same step, so a rank's signal counts
only once the ranks agree on it: at the next scalar flush (``agree``, one all-reduce
where the loop reads its scalars anyway). There a repeated signal is ignored: torchrun's
agent forwards the terminal's Ctrl-C, so each rank gets it twice, and kills the ranks
itself 30 s later.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import torch
import torch.distributed as dist

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving its checkpoint; the message says where."""

    def __init__(
        self, message: str, signal_number: int, step: int, phase: str = "training"
    ) -> None:
        super().__init__(message)
        self.signal_name = signal.Signals(signal_number).name
        self.step = step  # the step saved in last.pt
        self.phase = phase  # training | evaluation
        self.exit_code = 128 + signal_number  # what a shell reports for a process the signal ended


class StopRequest:
    """Whether training should stop: ``signal_number`` is the signal to stop for (0: none)."""

    def __init__(self, world_size: int = 1, device: torch.device | str = "cpu") -> None:
        self.world_size, self.device = world_size, torch.device(device)
        self.signal_number = 0  # what fit acts on
        self.received = 0  # the first signal this process got

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

    def alone(self) -> None:
        """The other ranks are done (rank 0's final evaluation): act on this process's own
        signals from now on, one already received included; no agreement is coming."""
        self.world_size = 1
        self.signal_number = self.signal_number or self.received

    def _handle(self, signal_number: int, frame: FrameType | None) -> None:
        if self.world_size > 1:
            self.received = self.received or signal_number  # acted on at the next agree()
            return
        if self.received and signal_number == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now, the last checkpoint stays
        self.received = self.received or signal_number
        self.signal_number = self.received


@contextmanager
def stop_on_signals(
    world_size: int = 1, device: torch.device | str = "cpu"
) -> Iterator[StopRequest]:
    """Within the block, SIGINT/SIGTERM set the yielded request instead of killing
    (in the main thread; elsewhere signals keep their handlers)."""
    request = StopRequest(world_size, device)
    with _stop_signals_to(request._handle):
        yield request


@contextmanager
def stop_before_training() -> Iterator[None]:
    """Within the block (a run's setup: its checks, the data read, the networks built),
    SIGINT/SIGTERM raise ``TrainingInterrupted`` at once, phase "setup": there is no step to
    finish and nothing to save, and the default handler would end the run without a word."""

    def stop(signal_number: int, frame: FrameType | None) -> None:
        name = signal.Signals(signal_number).name
        raise TrainingInterrupted(
            f"stopped by {name} before the first step, while setting up; nothing was trained "
            "or saved: run the same command again", signal_number, 0, phase="setup",
        )  # fmt: skip

    with _stop_signals_to(stop):
        yield


@contextmanager
def _stop_signals_to(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """SIGINT and SIGTERM go to ``handler`` within the block, and back to their handlers
    after it; elsewhere than in the main thread, where Python allows no handler, they stay."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, earlier in previous.items():
            signal.signal(number, earlier)
