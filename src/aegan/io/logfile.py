"""The run's log file (RUN_DIR/train.log, evaluate.log), as Hydra's logging config opens it.

``logging.FileHandler`` opens whatever is at that path: a FIFO there blocks the command
before it starts, a symlink appends to a file elsewhere, a folder fails as "Unable to
configure handler 'file'", a file name set to a checkpoint appends log lines to it.
``RunLogHandler`` opens a regular file named ``*.log`` only, and says why not.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from aegan.errors import CheckpointError, ConfigError
from aegan.io.path_kinds import path_kind


class RunLogHandler(logging.FileHandler):
    """A ``FileHandler`` that appends to a regular file or creates one, and raises
    ``CheckpointError`` naming the path for anything else; ``held`` (a list): its lines are
    kept there instead (``hold_run_log``)."""

    held: list[logging.LogRecord] | None = None
    created = False  # the file did not exist before this handler opened it

    def emit(self, record: logging.LogRecord) -> None:
        if self.held is not None:
            self.held.append(record)
        else:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        """A line the file cannot take (a full disk) is left out of it, not printed with
        logging's traceback after the run's own line, which says what failed; the console
        shows every line."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handleError(record)

    def _open(self):
        path = self.baseFilename
        if not path.endswith(".log"):  # a checkpoint, metrics.json, a record: not a log
            raise ConfigError(
                f"hydra.job_logging.handlers.file.filename={path} is not allowed: a log file's "
                "name must end in .log (a run's checkpoints and records are never appended to)"
            )
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW
        kind = path_kind(path, follow_links=False)
        # not there yet, or not reachable (its folder's permissions): os.open says which
        if kind is not None and os.path.lexists(path):
            raise _refused(path, f"it is {kind}, not a log file")
        self.created = not os.path.lexists(path)
        try:
            fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as err:  # a read-only or full disk: nothing there to move away
            raise _refused(path, err.strerror or str(err), there=not self.created) from None
        kind = path_kind(fd)
        if kind is not None:  # swapped in between the two looks
            os.close(fd)
            raise _refused(path, f"it is {kind}, not a log file")
        os.set_blocking(fd, True)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


def _refused(path: str, reason: str, there: bool = True) -> CheckpointError:
    elsewhere = "choose another folder: hydra.run.dir=..."
    hint = f"move it away (or {elsewhere})" if there else elsewhere
    return CheckpointError(
        f"the run's log file {path} cannot be opened: {reason}; {hint} and run the command again"
    )


def hold_run_log() -> Callable[[], None]:
    """Keep the lines of the run's log files in memory until the returned function writes
    them: a command in a trained run's folder writes its train.log only once it continues
    that run, so that one refused on what only its checkpoint or data tells (a random
    number state that does not fit, files changed since) leaves the log as it was."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, RunLogHandler)]
    for handler in handlers:
        handler.held = []

    def write() -> None:
        for handler in handlers:
            lines, handler.held = handler.held or [], None
            for record in lines:
                handler.emit(record)

    return write


def drop_held_log() -> None:
    """A command refused while its lines were held: they are dropped (and the lines still
    to come), and a log file it created is removed while empty, so that the run's folder
    is as it was."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, RunLogHandler) and handler.held is not None:
            handler.held = []
            path = handler.baseFilename
            if handler.created and os.path.isfile(path) and os.path.getsize(path) == 0:
                os.unlink(path)
