"""What a run says when a write into its folder fails (a full disk, a folder removed under
it): the file, the last good checkpoint, and the overrides that continue the run there."""

from __future__ import annotations

import errno
from pathlib import Path

from aegan.path_kinds import shown


def disk_full(err: OSError) -> bool:
    return err.errno in (errno.ENOSPC, errno.EDQUOT)


def continue_in(run_dir: Path) -> str:
    """The overrides that continue a stopped run in its own folder: ``trainer.resume`` alone
    would go on in a new one, leaving the run's history in two."""
    return f"trainer.resume={run_dir} hydra.run.dir={run_dir}"


def after_failed_write(err: OSError, run_dir: Path) -> str:
    """What a failed write into ``run_dir`` kept and how to go on, for its one line: "the last
    good checkpoint is ... Make room (a full disk; else: make that path writable), then
    continue in its folder with trainer.resume=RUN_DIR hydra.run.dir=RUN_DIR"."""
    if not run_dir.is_dir():
        return f"the run's folder {shown(run_dir)} was removed while it trained"
    if err.errno == errno.ENOENT:  # a folder inside the run's, its tb/ say, removed under it
        remedy = "Part of the run's folder was removed while it trained; continue"
    else:
        remedy = "Make room" if disk_full(err) else "Make that path writable (or move it away)"
        remedy += ", then continue"
    return (
        f"{last_good_checkpoint(run_dir / 'checkpoints')}. {remedy} in its folder with "
        f"{continue_in(run_dir)}"
    )


def failed_file(err: OSError, default: Path | str) -> str:
    """The file a failed write names, as one line: TensorBoard's writer names it in bytes."""
    return shown(err.filename2 or err.filename or default)


def last_good_checkpoint(folder: Path) -> str:
    """Where a stopped run can resume from, for error messages: "the last good checkpoint is
    FOLDER/last.pt", or "no checkpoint was written yet"."""
    last = folder / "last.pt"
    return (
        f"the last good checkpoint is {last}" if last.exists() else "no checkpoint was written yet"
    )
