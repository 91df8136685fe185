"""A stop signal before training's own handlers (``aegan.engine.interrupt``) is one line.

``aegan.train`` imports this module first, before torch and Hydra take their seconds to
import: there a cluster's SIGTERM ended the process without a word (exit code 143), and
Ctrl-C with the traceback of whichever import was running. Only where the process is that
command (``python -m aegan.train``, ``aegan-train``) are the handlers set: a notebook or a
test that imports ``aegan.train`` keeps its own. Light on purpose: ``signal`` is all it
imports that the interpreter's start has not (``pathlib`` cost 10 ms of the 50 from the
interpreter's start to the handlers, 2026-12-07 on a 2-core Xeon; a signal before them ends
the process without a word, or with a traceback of Ctrl-C).
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

SETTING_UP = (
    "before the first step, while setting up; nothing was trained or saved: run the same "
    "command again"
)
AFTER_TRAINING = "after training began; the checkpoints it wrote are kept"
_training_began = False  # this process has entered training: the line above is no longer true


def stopped_line(signal_number: int) -> str:
    """What a stop by ``signal_number`` outside training's own handlers has done."""
    name = signal.Signals(signal_number).name
    return f"stopped by {name} {AFTER_TRAINING if _training_began else SETTING_UP}"


def training_began() -> None:
    """From now on a stop here comes after training began (its unwinding, its report)."""
    global _training_began
    _training_began = True


def _stop(signal_number: int, frame: FrameType | None) -> None:
    if os.environ.get("RANK", "0") == "0" and not _another_failed():
        print(f"error: {stopped_line(signal_number)}", file=sys.stderr, flush=True)
    raise SystemExit(128 + signal_number)  # what a shell reports for a process it ended


def _another_failed() -> bool:
    """Under torchrun, whether the agent's signal follows another process's failure, which
    that process has said: its agent signals every process alike, and rank 0 speaks for a
    stop of them all. The job's store is reached once torch is imported, not before."""
    job_store = sys.modules.get("aegan.engine.job_store")
    return job_store is not None and job_store.failure_of_another() is not None


def _is_the_command() -> bool:
    """Whether this process is ``python -m aegan.train`` or the ``aegan-train`` script."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    script = os.path.basename(sys.argv[0])
    return getattr(spec, "name", None) == "aegan.train" or script == "aegan-train"


if _is_the_command():
    for _number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(_number) is not signal.SIG_IGN:  # nohup's SIGHUP stays ignored
            signal.signal(_number, _stop)
