"""This test process's stop signals handled as a command's process handles them
(``python -m aegan.bench``: ``aegan.signals.starting_signals``' line, then ``StoppedBySignal``),
and a signal sent from inside a function as it is called."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import aegan.signals.starting_signals as starting_signals


@contextmanager
def handled_as(command: str) -> Iterator[None]:
    """Within the block, as in a new process of ``command`` (a module of ``LINES``): its
    handlers set, its work not begun; all as it was after the block."""
    kept = starting_signals._COMMAND, starting_signals._work_began, starting_signals._dying_by
    starting_signals._COMMAND, starting_signals._work_began = command, False
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    handlers = {number: signal.signal(number, starting_signals._stop) for number in stops}
    try:
        yield
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
        starting_signals._COMMAND, starting_signals._work_began, starting_signals._dying_by = kept


@contextmanager
def signal_at_call(
    number: int, function_name: str, *, call: int = 1, times: int = 1
) -> Iterator[None]:
    """Within the block, ``number`` is sent to this process ``times`` times as a function
    named ``function_name`` is called for the ``call``-th time (from inside it: where the
    signal's exception is raised)."""
    calls = 0

    def profile(frame, event, arg) -> None:
        nonlocal calls
        if event != "call" or frame.f_code.co_name != function_name:
            return
        calls += 1
        if calls == call:
            sys.setprofile(None)
            for _ in range(times):
                signal.raise_signal(number)

    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(None)
