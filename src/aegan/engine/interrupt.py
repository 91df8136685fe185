"""Ctrl-C and SIGTERM (a cluster's preemption, ``kill``) end training at a step boundary.

Within ``stop_on_signals`` the first SIGINT or SIGTERM only sets a flag; ``fit`` reads it
after each step, saves a checkpoint of the finished steps (mid-epoch: a resume continues
at the next batch) and raises ``TrainingInterrupted``. A second SIGINT stops at once, as
Python's default does. ``aegan.train`` installs the handlers around ``fit`` in a single
process only: under ``torchrun`` the ranks could stop at different steps.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving its checkpoint; the message says where."""

    def __init__(self, message: str, signal_number: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signal_number  # what a shell reports for a process the signal ended


class StopRequest:
    """The first stop signal received, if any (``signal_number``; 0 while none came)."""

    def __init__(self) -> None:
        self.signal_number = 0

    @property
    def name(self) -> str:
        return signal.Signals(self.signal_number).name

    def _handle(self, signal_number: int, frame: FrameType | None) -> None:
        if self.signal_number and signal_number == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now, the last checkpoint stays
        if not self.signal_number:
            self.signal_number = signal_number


@contextmanager
def stop_on_signals(enabled: bool = True) -> Iterator[StopRequest]:
    """Within the block, SIGINT/SIGTERM set the yielded request instead of killing."""
    request = StopRequest()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield request  # never set: signals keep their handlers
        return
    previous = {number: signal.signal(number, request._handle) for number in STOP_SIGNALS}
    try:
        yield request
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
