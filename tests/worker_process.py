"""The process each test runs in, set up as conftest imports it: Ctrl-C as a terminal gives
it, and under pytest-xdist a core of its own for each worker."""

from __future__ import annotations

import os
import signal

import torch

# The tests' Ctrl-C is a terminal's: a suite started in the background (`make test &`, nohup)
# has SIGINT ignored, and so would this process and every command it starts.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
# The cores this process was given, before a worker takes one of them (every_core).
EVERY_CORE = frozenset(os.sched_getaffinity(0))


def _a_core_for_each_worker() -> None:
    """Under pytest-xdist, each worker (and all it starts) on a core of its own: a run or a
    notebook in one raised its threads to every core (evaluation, convolutions) while the
    other worker ran on them, and a 5 s classifier took 15 s."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ...
    if worker[2:].isdigit() and int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        cores = sorted(EVERY_CORE)
        os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})
        torch.set_num_threads(1)


_a_core_for_each_worker()
