"""A check run as a user without root's rights: root reads every folder, and CI runs as root,
so a folder without read permission is made and read by an unprivileged child process."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

NOBODY = 65534  # the uid and gid of nobody / nogroup


@contextlib.contextmanager
def reachable_folder() -> Iterator[Path]:
    """A fresh folder any user may reach: pytest's tmp_path is its owner's alone (0700)."""
    folder = Path(tempfile.mkdtemp(prefix="aegan-unprivileged-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in (folder, *folder.rglob("*")):  # rmtree needs to list and enter each
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(folder)


def failure_unprivileged(check: Callable[[], object]) -> str | None:
    """``check()`` as a user other than root: ``"Type: message"`` of what it raised, or None.
    As root, in a forked child that drops to nobody (no torch work there: only file checks)."""
    if os.geteuid() != 0:
        try:
            check()
        except Exception as err:
            return f"{type(err).__name__}: {err}"
        return None
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: nothing of pytest's may run here, so every path ends in _exit
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                check()
                outcome = ""
            except Exception as err:
                outcome = f"{type(err).__name__}: {err}"
            os.write(write_end, outcome.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    return outcome or None
