"""What a run says when a write into its folder fails (a full disk, a folder removed under
it): the file, the last good checkpoint, and the overrides that continue the run there."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from aegan.engine.run_record import step_checkpoints
from aegan.errors import USER_ERRORS, CheckpointError, DiskFullError
from aegan.io.path_kinds import shown
from aegan.settings.overrides import pasted_override


def disk_full(err: OSError) -> bool:
    return err.errno in (errno.ENOSPC, errno.EDQUOT)


def names_a_write(err: BaseException) -> bool:
    """Whether ``err`` is a failed write that ``one_line_write_errors`` makes its line of:
    one naming its file, or a full disk."""
    return (
        isinstance(err, OSError)
        and not isinstance(err, USER_ERRORS)
        and (disk_full(err) or bool(err.filename))
    )


@contextlib.contextmanager
def one_line_write_errors(run_dir: Path) -> Iterator[None]:
    """Within the block, a write into ``run_dir`` that fails (a full disk, a path that
    cannot be written) is one line naming the file, what is kept and how to go on:
    ``DiskFullError``, else ``CheckpointError``. An OSError that names no file is left."""
    try:
        yield
    except OSError as err:
        if not names_a_write(err):
            raise
        where = failed_file(err, f"into {run_dir}")
        error = DiskFullError if disk_full(err) else CheckpointError
        raise error(
            f"{err.strerror or err} while writing {where}; {after_failed_write(err, run_dir)}"
        ) from err


def continue_in(run_dir: Path) -> str:
    """The overrides that continue a stopped run in its own folder: ``trainer.resume`` alone
    would go on in a new one, leaving the run's history in two. From the run (its last.pt),
    or from the step file saved after it where last.pt could not be pointed at that."""
    good = last_good(run_dir / "checkpoints")
    start = good if good is not None and good.name != "last.pt" else run_dir
    return f"{pasted_override('trainer.resume', start)} {pasted_override('hydra.run.dir', run_dir)}"


CONTINUE_SAME = ". Continue in its folder with the same command and "


def continued_in_its_folder(run_dir: Path) -> str:
    """The end of a stop's line: how to go on with the run in ``run_dir``."""
    return CONTINUE_SAME + continue_in(run_dir)


def last_good(folder: Path) -> Path | None:
    """The newest whole checkpoint in ``folder``: last.pt, or the step file a save wrote
    whole before it failed to point last.pt at it (a folder there, a full disk where
    links are copies); None where none was written."""
    last = folder / "last.pt"
    try:
        steps = step_checkpoints(folder) if folder.is_dir() else []
    except OSError:  # a folder that cannot be read: no step file known
        steps = []
    newest = steps[-1] if steps else None
    if last.is_file() and (newest is None or not_older(last, newest)):
        return last
    return newest


def not_older(last: Path, step_file: Path) -> bool:
    """Whether ``last`` (last.pt) is ``step_file`` (its link, or a copy of it: a folder
    copied whole gives each file a new time) or was written after it (its copy, where the
    file system has no links)."""
    try:
        return same_bytes(last, step_file) or (
            last.stat().st_mtime_ns >= step_file.stat().st_mtime_ns
        )
    except OSError:  # one of them gone as it was read
        return last.is_file()


CHUNK = 2**20  # bytes compared at a time: a checkpoint is never held whole to compare it


def same_bytes(a: Path, b: Path) -> bool:
    """Whether the files ``a`` and ``b`` hold the same bytes (one file, or a copy)."""
    try:
        if os.path.samefile(a, b):
            return True
        if a.stat().st_size != b.stat().st_size:
            return False
        with open(a, "rb") as first, open(b, "rb") as second:
            while True:
                chunk = first.read(CHUNK)
                if chunk != second.read(CHUNK):
                    return False
                if not chunk:
                    return True
    except OSError:
        return False


def after_failed_write(err: OSError, run_dir: Path) -> str:
    """What a failed write into ``run_dir`` kept and how to go on, for its one line: "the last
    good checkpoint is ... Make room (a full disk; else: make that path writable), then
    continue in its folder with trainer.resume=RUN_DIR hydra.run.dir=RUN_DIR"."""
    if not run_dir.is_dir():
        return f"the run's folder {shown(run_dir)} was removed while it trained"
    if err.errno == errno.ENOENT:  # a folder inside the run's, its tb/ say, removed under it
        remedy = "Part of the run's folder was removed while it trained; "
    else:
        remedy = "Make room" if disk_full(err) else "Make that path writable (or move it away)"
        remedy += ", then "
    if last_good(run_dir / "checkpoints") is None:  # nothing to continue from
        return f"no checkpoint was written yet. {remedy}run the same command again"
    return (
        f"{last_good_checkpoint(run_dir / 'checkpoints')}. {remedy}continue in its folder with "
        f"{continue_in(run_dir)}"
    )


def failed_file(err: OSError, default: Path | str) -> str:
    """The file a failed write names, as one line: TensorBoard's writer names it in bytes."""
    return shown(err.filename2 or err.filename or default)


def last_good_checkpoint(folder: Path) -> str:
    """Where a stopped run can resume from, for error messages: "the last good checkpoint is
    FOLDER/last.pt" (``last_good``), or "no checkpoint was written yet"."""
    good = last_good(folder)
    return f"the last good checkpoint is {good}" if good else "no checkpoint was written yet"
