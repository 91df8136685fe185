"""A stop signal to a sweep whose jobs run in processes of their own on this machine (Hydra's
joblib launcher, submitit's local one): each job in flight saves its step, as a run alone
does (an evaluation's job stops as one alone does), no later job starts, and the sweep ends
in one line, by the signal.

Left to itself the sweep's process took its stop for one before any work ("nothing was
trained or saved") and raised, and joblib, on that or on the first job to end stopped,
terminated the other jobs' processes: a job between two checkpoints lost its epoch, one
saving its step lost that. Now that process records the signal and passes a SIGTERM or
SIGHUP on to its workers (a ``kill`` that named it alone; Ctrl-C reaches them from the
terminal, and a second one would stop their trainings at once, unsaved). A stopped job
returns in its worker, and a job that starts there after the stop returns before any work,
so joblib has nothing to end; the sweep's process then says what happened and dies by the
first signal. A worker with no job yet would die of a Ctrl-C (and joblib then end the
others): the sweep's main thread blocks the stop signals while it launches, so that the
workers it starts inherit them blocked, and a worker unblocks them as its first job starts,
its own handlers set; the sweep's process takes them in a thread of its own that does not
block them, and Python runs the handler in its main thread.

submitit's local launcher runs each job in a process of a controller process of its own.
The controller died of a Ctrl-C with a traceback, then sent its job a second SIGINT (which
stops a training at once, unsaved) and SIGKILL a second later; the sweep's process said
"nothing was trained or saved", and, stopped by a ``kill`` of it alone, ended while its jobs
trained on. Now the controllers inherit the stop signals blocked and never take them, and a
SIGTERM or SIGHUP to the sweep's process is passed on to the jobs' processes beneath them,
those that start later included (a job's process not yet started heard of no stop), and a
Ctrl-C to those that start after it, as SIGTERM (those there heard it from the terminal).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Container
from types import FrameType

from aegan.signals.starting_signals import stopped_by

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PARENT_ENV = "AEGAN_SWEEP_PROCESS"  # the pid of the process that launches the jobs
_RECEIVER = "aegan-stop-signals"  # the thread that takes them while the main thread blocks them
_PASSING_ON = "aegan-stop-passed-on"  # the thread that sends a stop to jobs started after it
# the launchers whose jobs run in processes of this machine (their _target_'s end), and how
# many processes down from the sweep's each job's is: joblib's workers are its children,
# submitit's jobs are children of a controller process per job
JOB_DEPTH = {".JoblibLauncher": 1, ".hydra_submitit_launcher.submitit_launcher.LocalLauncher": 2}

_stops: list[int] = []  # the stop signals this process got while it ran or launched jobs
# how to go on with the sweep, set as its jobs are launched; a callable: said as it stops
_going_on: list[str | Callable[[], str]] = []
# what a stop did to the jobs in flight: a training's saved its step (aegan.evaluate's says
# its own: aegan.cli.hydra_job.EVALUATIONS_IN_FLIGHT)
SAVED_STEP = "each job in flight saved its step and said where"
_in_flight: list[str] = [SAVED_STEP]
_kept: dict[int, object] = {}  # the sweep's process's handlers, back at the sweep's end
_mask: list[set[signal.Signals]] = []  # its main thread's blocked signals before the sweep
_job_depth: list[int] = []  # JOB_DEPTH's, for the sweep's launcher
_passed_on: set[tuple[int, int]] = set()  # (the sweep's process, a job's) sent its stop
# (the sweep's process, a job's) there at its first Ctrl-C: the terminal sent it that
_heard_ctrl_c: set[tuple[int, int]] = set()
PASS_ON_EVERY_S = 0.2  # how soon a job's process started after the stop is sent it


def launch_in_workers(
    going_on: str | Callable[[], str], launcher: str, in_flight: str = SAVED_STEP
) -> None:
    """In the sweep's process, before a launcher of ``JOB_DEPTH`` (``launcher``: its
    ``_target_``; another is left alone) starts its processes: a stop signal is recorded
    and passed on to the jobs, not raised, until ``end_of_sweep_in_workers``. ``going_on``:
    how to go on with the sweep once stopped (``aegan.cli.hydra_job.going_on``), or what
    says it as it stops (the runs an evaluation sweep left);
    ``in_flight``: what a stop does to the jobs in flight, said in its line."""
    depth = [depth for end, depth in JOB_DEPTH.items() if launcher.endswith(end)]
    if not depth:
        return
    _job_depth[:] = depth
    os.environ[PARENT_ENV] = str(os.getpid())
    _going_on[:], _in_flight[:] = [going_on], [in_flight]
    for number in STOP_SIGNALS:
        if signal.getsignal(number) is not signal.SIG_IGN:  # nohup's SIGHUP stays ignored
            _kept.setdefault(number, signal.getsignal(number))
            signal.signal(number, _sweep_stop)
    _start_resource_trackers()  # each unblocks the stop signals where it starts
    if not any(thread.name == _RECEIVER for thread in threading.enumerate()):
        threading.Thread(target=threading.Event().wait, name=_RECEIVER, daemon=True).start()
    _mask[:] = [signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)]


def _start_resource_trackers() -> None:
    """Start the resource trackers of multiprocessing and of joblib's loky, as the first
    worker would: each blocks SIGINT and SIGTERM while it starts its process, then unblocks
    them, which left the workers started after it to die of a Ctrl-C between jobs."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    with contextlib.suppress(ImportError):  # joblib's launcher, not installed: no workers
        from joblib.externals.loky.backend import resource_tracker as loky_tracker

        loky_tracker.ensure_running()


def sweep_was_stopped() -> bool:
    """In the sweep's process: whether a stop came while its jobs ran in workers."""
    return bool(_stops) and os.environ.get(PARENT_ENV) == str(os.getpid())


def end_of_sweep_in_workers() -> None:
    """In the sweep's process, once its jobs returned or it raised: its handlers back, and
    where a stop came while they ran, its line and ``StoppedBySignal`` (the process dies
    by it), in place of what the sweep returned or raised."""
    if os.environ.get(PARENT_ENV) != str(os.getpid()):  # no such sweep here, or a worker
        return
    del os.environ[PARENT_ENV]
    if _mask:
        signal.pthread_sigmask(signal.SIG_SETMASK, _mask.pop())
    for number, handler in _kept.items():
        signal.signal(number, handler)  # type: ignore[arg-type]
    _kept.clear()
    stops, _stops[:] = list(_stops), []
    if stops:
        name, going_on = signal.Signals(stops[0]).name, _going_on[0]
        print(
            f"error: stopped by {name} while the sweep's jobs ran: {_in_flight[0]}, and no "
            f"later job started. {going_on() if callable(going_on) else going_on}",
            file=sys.stderr,
            flush=True,
        )
        raise stopped_by(stops[0])


def in_a_worker() -> bool:
    """Whether this process runs a job for a sweep launched by another process."""
    launcher = os.environ.get(PARENT_ENV)
    return launcher is not None and launcher != str(os.getpid())


def sweep_process_id() -> int:
    """The process that launches the sweep's jobs: this one, or the one this worker runs
    a job for."""
    launcher = os.environ.get(PARENT_ENV, "")
    return int(launcher) if in_a_worker() and launcher.isdigit() else os.getpid()


def job_starts_in_worker() -> None:
    """In a worker, as a job starts: a stop signal that comes while it has no training (the
    job's setup, or between two jobs) is recorded, so that the next job does not start."""
    if in_a_worker():
        for number in STOP_SIGNALS:
            if signal.getsignal(number) not in (signal.SIG_IGN, _worker_stop):
                signal.signal(number, _worker_stop)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked since its start


def stop_while_starting() -> int:
    """In a worker, the first stop signal recorded since its job started (0: none), which
    the training's own handlers act on as they are set: it came in the job's setup, before
    them, and was lost: the job trained on to its end."""
    return _stops[0] if in_a_worker() and _stops else 0


def stopped_before_start() -> bool:
    """Whether a job starting in this worker must not run: the sweep was stopped."""
    return in_a_worker() and bool(_stops)


def stopped_in_worker(signal_number: int) -> bool:
    """A job stopped by ``signal_number`` (its step saved): True where it runs in a worker,
    which then returns (the sweep's process ends the sweep), False where it must raise."""
    if not in_a_worker():
        return False
    _stops.append(signal_number)
    return True


def _sweep_stop(number: int, frame: FrameType | None) -> None:
    if number == signal.SIGINT and signal.SIGINT in _stops:
        raise KeyboardInterrupt  # a second Ctrl-C: at once, as for a run alone
    sweep, depth, first = os.getpid(), _job_depth[0], not _stops
    if first and number == signal.SIGINT:  # the jobs' processes there heard the terminal's
        _heard_ctrl_c.update((sweep, pid) for pid in _processes_below(depth))
    if number != signal.SIGINT and number not in _stops:
        _pass_on(sweep, depth)  # those there now
    _stops.append(number)
    if first:  # the jobs' processes that start later hear of no stop
        later = threading.Thread(
            target=_pass_on_to_later_jobs, args=(depth, _stops), name=_PASSING_ON, daemon=True
        )
        later.start()


def _pass_on_to_later_jobs(depth: int, stops: list[int]) -> None:
    """A job's process started after the stop came (submitit's controller starts it a second
    or more after its own start; loky starts its workers as it hands out jobs) heard of no
    stop, a Ctrl-C from the terminal included, and trained to its end: it is passed on to
    those too, until the sweep's end (``stops``: its stops, which that end empties)."""
    sweep = os.getpid()
    while os.environ.get(PARENT_ENV) == str(sweep) and stops and stops is _stops:
        time.sleep(PASS_ON_EVERY_S)
        _pass_on(sweep, depth, heard=_heard_ctrl_c)


def _pass_on(sweep: int, depth: int, heard: Container[tuple[int, int]] = ()) -> None:
    """SIGTERM to each job's process ``depth`` below the sweep's not yet sent it nor in
    ``heard`` (a worker's SIGHUP would end it unsaved; its stop signals are blocked until
    its job starts, so none is lost)."""
    for pid in _processes_below(depth):
        if (sweep, pid) not in _passed_on and (sweep, pid) not in heard:
            _passed_on.add((sweep, pid))
            with contextlib.suppress(ProcessLookupError):  # ended meanwhile
                os.kill(pid, signal.SIGTERM)


def _worker_stop(number: int, frame: FrameType | None) -> None:
    _stops.append(number)


def _processes_below(depth: int) -> list[int]:
    """The processes ``depth`` generations below this one (1: those it started: joblib's
    workers, whose resource tracker ignores SIGTERM; 2: those they started), read from
    ``/proc``; none where there is no ``/proc``."""
    children: dict[str, list[str]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:  # pid (name) state ppid ...
                    parent = stat.read().rpartition(")")[2].split()[1]
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append(entry)
    found = [str(os.getpid())]
    for _ in range(depth):
        found = [child for pid in found for child in children.get(pid, [])]
    return [int(pid) for pid in found]
