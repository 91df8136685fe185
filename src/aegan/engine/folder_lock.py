"""One process at a time in a run's folder, while it trains or is evaluated.

Two processes in one folder (a command started twice, a sweep continued while it still
ran) each passed the check for a trained run before the other had saved one, then wrote
over each other's record, checkpoints and metrics: a folder that said one run and held
parts of two. The lock is the kernel's (``flock`` on the folder itself): no file is left
behind, and it goes with the process however that ends. A file system that cannot lock
(some network ones) is used without it, as before.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from aegan.engine.distributed import launch
from aegan.errors import ConfigError


def train_elsewhere(key: str) -> str:
    """What a training run could do instead of waiting or overwriting: another folder, set
    with ``key``, the setting that chose this one (``paths.output_dir`` for ``train(cfg)``
    called in a notebook, where no ``hydra.run.dir`` is read)."""
    if key.startswith("hydra."):
        return ", or train into another folder (hydra.run.dir=..., hydra.sweep.dir=... with -m)"
    return f", or train into another folder ({key}=...)"


TRAIN_ELSEWHERE = train_elsewhere("hydra.run.dir")  # the command line's
# folders this process holds -> (the descriptor its lock is on, how many holders): a run
# that is evaluated at its end, or trained from aegan.train's main, holds it twice
_HELD: dict[str, tuple[int, int]] = {}


class FolderInUseError(ConfigError):
    """Another process trains or evaluates in the folder: nothing of this one is written
    there (a sweep's job leaves no failed.json in it)."""


@contextlib.contextmanager
def hold_run_folder(folder: Path, instead: str = "") -> Iterator[None]:
    """Hold ``folder`` (made if missing) for this process while the block runs;
    ``FolderInUseError`` if another process holds it (``instead``: what else to do). Under
    torchrun rank 0 holds it for the run: the others write nothing there."""
    key = str(Path(folder).resolve())
    if launch()[0] != 0:
        yield
        return
    if key in _HELD:  # this process holds it already
        fd, holders = _HELD[key]
        _HELD[key] = (fd, holders + 1)
    else:
        _HELD[key] = (_lock(key, instead), 1)
    try:
        yield
    finally:
        fd, holders = _HELD.pop(key)
        if holders > 1:
            _HELD[key] = (fd, holders - 1)
        elif fd >= 0:
            os.close(fd)  # the lock goes with its descriptor


def check_not_in_use(folder: Path, instead: str = "") -> None:
    """``FolderInUseError`` if another process holds ``folder`` now (a folder not there is
    not): before a run's log is opened there."""
    if Path(folder).is_dir():
        with hold_run_folder(folder, instead):
            pass


def held_elsewhere(folders: list[Path]) -> Path | None:
    """The first of ``folders`` whose lock another process holds now, or None; read from
    Linux's /proc/locks, not probed with a lock of this process's own, which would refuse
    that process's next run there for the instant it held it. None where it cannot be told
    (another system)."""
    # a line: "1: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF"; a waiter's: "1: -> FLOCK ..."
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as file:
            lines = [line.split() for line in file]
    except OSError:
        return None
    own = str(os.getpid())
    held = {p[5] for p in lines if len(p) > 5 and p[1] == "FLOCK" and p[4] != own}
    for folder in folders:
        try:
            found = os.stat(folder)
        except OSError:
            continue
        device = f"{os.major(found.st_dev):02x}:{os.minor(found.st_dev):02x}:{found.st_ino}"
        if device in held:
            return folder
    return None


def _lock(folder: str, instead: str) -> int:
    """A descriptor of ``folder`` holding its exclusive lock, or -1 where none can be
    taken."""
    try:
        os.makedirs(folder, exist_ok=True)  # a run's own folder, made by train(cfg) or Hydra
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not a folder that can be made or read: what writes there says so
        return -1
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        os.close(fd)
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise FolderInUseError(
                f"{folder} is in use: another process is training or evaluating in it, and "
                f"a run folder holds one run at a time; wait for it to end{instead}"
            ) from None
        return -1  # a file system without locks: go on as before
    return fd
