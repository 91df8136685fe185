"""The store of torchrun's agent, which every process of a job reaches before the process
group exists: one launch time (``launch_time``), one error line for the whole job, and the
job's first failure for the processes it ended (``engine.distributed.failures_said_once``).

A mistake every process makes alike (a setting, an override, a data file) was said once per
process, ``--nproc_per_node`` times, above torchrun's own report: the first process to say
a line now leaves it in the store, and the others, finding it there, stay quiet. A line only
one process has (its own non-finite loss) is still said by it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import Counter
from datetime import timedelta

import torch.distributed as dist

STORE_TIMEOUT_S = 30.0  # the agent started the processes: its store is already there
_store: dist.Store | None = None
_said: Counter[str] = Counter()  # how often this process has said each line


def agent_store() -> dist.Store | None:
    """torchrun's agent's store, or None: one process, processes started by hand, or a
    store that cannot be reached (each process then goes on alone)."""
    global _store
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        return None
    if _store is None:
        try:
            _store = dist.TCPStore(
                os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=False,
                timeout=timedelta(seconds=STORE_TIMEOUT_S),
            )  # fmt: skip
        except (KeyError, ValueError, RuntimeError):
            return None
    return _store


def job_key(name: str) -> str:
    """A key of this attempt of the job (a restart by torchrun starts afresh)."""
    return f"aegan/{name}/{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}"


def first_to_say(line: str) -> bool:
    """Whether this process is the first of its job to say ``line`` (always, alone); the
    n-th time it says it, the first to say it an n-th time. An error said is a failure:
    the job's first, unless another came before (``note_failure``)."""
    store = agent_store()
    if store is None:
        return True
    note_failure(line)
    _said[line] += 1
    rank = os.environ.get("RANK", "0")
    key = job_key(f"said/{hashlib.sha256(line.encode()).hexdigest()}/{_said[line]}")
    try:
        return store.compare_set(key, "", rank).decode() == rank
    except (RuntimeError, ValueError):  # the agent gone: better said twice than not at all
        return True


def note_failure(line: str) -> None:
    """This process failed, ``line`` saying why: the job's first failure, unless another's
    came first (``failure_of_another``)."""
    store = agent_store()
    if store is None:
        return
    with contextlib.suppress(RuntimeError, ValueError):  # the agent gone: each says its own
        store.compare_set(job_key("failed"), "", f"{os.environ.get('RANK', '0')}\n{line}")


def failure_of_another() -> str | None:
    """The line of the job's first failure where it was another process's, else None."""
    store, key = agent_store(), job_key("failed")
    try:
        if store is None or not store.check([key]):
            return None
        rank, _, line = store.get(key).decode().partition("\n")
    except (RuntimeError, ValueError):
        return None
    return line if rank != os.environ.get("RANK", "0") else None
