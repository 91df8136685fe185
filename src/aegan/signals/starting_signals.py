"""A stop signal before a command's own handlers (``aegan.engine.interrupt``) is one line.

Each command of ``LINES`` imports this module first, before torch and Hydra take their
seconds to import: there a cluster's SIGTERM ended the process without a word (exit code
143), and Ctrl-C with the traceback of whichever import was running. Only where the process
is that command (``python -m aegan.bench``, ``aegan-train``) are the handlers set: a
notebook or a test that imports it keeps its own. aegan.bench and aegan.summarize have none
of their own: a stop loses what they computed, and their lines say what they had written.
The scripts of ``scripts/`` (``python scripts/compare.py``) are one line while they start;
from their work on (``work_began``) they stop as Python does, as before.
Light on purpose: ``signal`` and the built-ins ``atexit`` and ``gc`` are all it imports that the
interpreter's start has not (``pathlib`` cost 10 ms of the 50 from the interpreter's start
to the handlers, 2026-12-07 on a 2-core Xeon; a signal before them ends the process without
a word, or with a traceback of Ctrl-C).

Every stop of those commands ends through ``stopped_by``: the command's own process dies
by the signal, as a shell needs to stop its loop or script. Under torchrun too: its agent
exits 1 either way, and names such a rank's end "Signal 15 (SIGTERM) received" (torch 2.14).
"""

from __future__ import annotations

import atexit  # built in: nothing read from disk
import gc  # built in too
import os
import signal
import sys
from types import FrameType

SETTING_UP = (
    "before the first step, while setting up; nothing was trained or saved: run the same "
    "command again"
)
AFTER_TRAINING = "after training began; the checkpoints it wrote are kept"
# by the module each command runs: what a stop did before its work began (work_began), and after
LINES: dict[str, tuple[str, str | None]] = {
    "aegan.train": (SETTING_UP, AFTER_TRAINING),
    "aegan.evaluate": (
        "while starting; nothing was evaluated or written: run the same command again",
        "after the evaluation began; the run's metrics.json is whole, as it was or as written",
    ),
    "aegan.bench": (  # its rows are written once all are timed
        "before writing its rows; bench.jsonl has no row of this run: run the same command again",
        "while writing its rows; each row printed above is in bench.jsonl: run the same "
        "command again for all of them",
    ),
    "aegan.summarize": (
        "before writing its summary; nothing was written: run the same command again",
        "while writing summary.md and summary.csv; each is whole, as it was or as written: "
        "run the same command again",
    ),
}
# scripts/*.py: their Ctrl-C after the start is Python's (compare.py and parity.py wait on
# the trainings they start, which stop by their own handlers)
SCRIPT_STARTING = "while starting; nothing was run or written: run the same command again"
for _script in ("compare.py", "compare_pythae.py", "parity.py", "probe_dcgan_gpu.py",
                "step_floor.py"):  # fmt: skip
    LINES[f"scripts/{_script}"] = (SCRIPT_STARTING, None)
SCRIPTS = {"aegan-train": "aegan.train"}  # pyproject.toml's console scripts: what each runs
_work_began = False  # this process has entered its work: the first line is no longer true
_dying_by = 0  # the signal this command's process ends by, once its exit functions have run
_going_on = ""  # in a sweep (-m) once it launches jobs: how to go on with it (sweep_began)


class StoppedBySignal(SystemExit):
    """A command's end by a stop signal: exit status 128 + N to a caller in this process
    (a notebook, a test calling ``main``)."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(128 + signal_number)  # what a shell reports for a process it ended
        self.signal_number = signal_number


def stopped_by(signal_number: int) -> StoppedBySignal:
    """What to raise to end the command stopped by ``signal_number``, all it wrote written
    and its line said. Where this process is the command (``python -m aegan.train``), it
    then dies by that signal at its exit: a shell stops its loop or script (``for s in 0 1
    2; do ...``, make, xargs) only after a command the signal killed, and goes on after one
    that exited 130, taken to have handled it. In a notebook or a test: the exception alone."""
    global _dying_by
    if _COMMAND is not None:
        _dying_by = signal_number
    return StoppedBySignal(signal_number)


def stopped_line(signal_number: int, command: str) -> str:
    """What a stop by ``signal_number`` outside ``command``'s own handlers has done."""
    name = signal.Signals(signal_number).name
    before, after = LINES[command]
    if not _work_began:
        return f"stopped by {name} {before}"
    return f"stopped by {name} {after}" + (f". {_going_on}" if _going_on else "")


def sweep_began(going_on: str) -> None:
    """A sweep (``-m``) launches its jobs: a stop between two of them, outside their own
    handlers, said what the job before kept, not that the later jobs did not run nor how
    to go on with the sweep (``going_on``), which its line now ends with."""
    global _going_on
    _going_on = going_on


def work_began() -> None:
    """From now on a stop here comes after the work began (its unwinding, its report); a
    command with no line for that (a script's) stops from now on as Python does."""
    global _work_began
    _work_began = True
    if _COMMAND is not None and LINES[_COMMAND][1] is None:
        for number in _HANDLED:
            python_own = signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL
            signal.signal(number, python_own)


def _stop(signal_number: int, frame: FrameType | None) -> None:
    if os.environ.get("RANK", "0") == "0" and not _another_failed():
        print(f"error: {stopped_line(signal_number, _COMMAND)}", file=sys.stderr, flush=True)
    raise stopped_by(signal_number)


def _another_failed() -> bool:
    """Under torchrun, whether the agent's signal follows another process's failure, which
    that process has said: its agent signals every process alike, and rank 0 speaks for a
    stop of them all. The job's store is reached once torch is imported, not before."""
    job_store = sys.modules.get("aegan.engine.job_store")
    return job_store is not None and job_store.failure_of_another() is not None


def _command() -> str | None:
    """The command of ``LINES`` this process runs (``python -m aegan.evaluate``, ``python
    scripts/compare.py``; a console script of ``SCRIPTS``), or None."""
    main = sys.modules.get("__main__")
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if name in LINES:
        return name
    folder, file = os.path.split(getattr(main, "__file__", None) or "")
    if os.path.basename(folder) == "scripts" and f"scripts/{file}" in LINES:
        return f"scripts/{file}"
    return SCRIPTS.get(os.path.basename(sys.argv[0]))


def _die_by_signal() -> None:
    """At exit, after every other exit function (logging's files flushed and closed: those
    registered later run first), the stop's signal ends the process, as Python's own end
    after an uncaught KeyboardInterrupt does; where it is blocked, the status stays 128 + N."""
    if not _dying_by:
        return
    for stream in (sys.stdout, sys.stderr):  # what the interpreter's end would flush
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # closed, or a pipe no one reads: nothing more to say
            pass
    signal.signal(_dying_by, signal.SIG_DFL)
    os.kill(os.getpid(), _dying_by)


def _no_final_collection() -> None:
    """At exit, after every other exit function: the objects left are frozen, so that the
    interpreter's last garbage collections skip them. Torch and Dynamo leave millions; those
    collections took a second of every command's end (0.2 s frozen, on a 2-core EPYC,
    2026-12-07). Files are closed by their own code and by logging's exit function, not by
    that collection."""
    gc.freeze()


_COMMAND = _command()
_HANDLED: list[int] = []  # the signals whose handler is _stop
if _COMMAND is not None:
    atexit.register(_no_final_collection)  # first: run last, after logging's
    atexit.register(_die_by_signal)  # next to last: a stop's signal ends the process here
    for _number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(_number) is not signal.SIG_IGN:  # nohup's SIGHUP stays ignored
            signal.signal(_number, _stop)
            _HANDLED.append(_number)
