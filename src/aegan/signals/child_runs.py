"""The trainings a script of scripts/ starts (``python -m aegan.train -m ...``), run to their
end through a stop signal, so that each saves its step in flight as it does when run alone.

``subprocess.run`` killed its child 0.25 s after a Ctrl-C, while the training was writing
the checkpoint of its step in flight, and the script ended in a KeyboardInterrupt traceback.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any

from aegan.signals.starting_signals import stopped_by

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run_to_its_end(command: Sequence[str], **popen: Any) -> int:
    """Run ``command`` and return its exit code. A stop signal to this script waits for it
    to end: the terminal's Ctrl-C reaches it too (it is in the same process group), and
    SIGTERM or SIGHUP is passed on, once, for a ``kill`` that named this script alone. Once
    it has ended, this script ends by the first signal, after one line (the child's own
    says what it kept). Ctrl-C is not passed on: a second one would stop the training at
    once, the step in flight not saved; one for this script alone leaves it to its end."""
    stops: list[int] = []
    passed_on: set[int] = set()
    child: subprocess.Popen | None = None

    def pass_on() -> None:
        for number in set(stops) - passed_on - {signal.SIGINT}:
            passed_on.add(number)
            child.send_signal(number)

    def stop(number: int, frame: FrameType | None) -> None:
        stops.append(number)
        if child is not None:
            pass_on()

    kept = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    for number, handler in kept.items():
        if handler is not signal.SIG_IGN:  # nohup's SIGHUP stays ignored
            signal.signal(number, stop)
    try:
        if not stops:  # one that came before it: nothing is started
            child = subprocess.Popen(list(command), **popen)
            pass_on()  # one that came between the start and ``child`` set
            child.wait()  # the handler runs in it; the wait goes on (PEP 475)
    finally:
        for number, handler in kept.items():
            signal.signal(number, handler)
    if stops:
        name = signal.Signals(stops[0]).name
        what = ("before the training it starts began; nothing was run" if child is None else
                "while the training it started ran, which stopped by its own handler: its "
                "line above says what it kept")  # fmt: skip
        print(f"error: stopped by {name} {what}", file=sys.stderr, flush=True)
        raise stopped_by(stops[0])
    return child.returncode
