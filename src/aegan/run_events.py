"""A run's TensorBoard curves read back (notebooks): tensorboard's own accumulator over the
event files of ``RUN_DIR/tb``, each of which must be a regular file. Opened, a FIFO in a
file's place waits forever for a writer and a device reads without end; each is left out,
said in one line, and the files beside it are read."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from tensorboard.backend.event_processing import io_wrapper
from tensorboard.backend.event_processing.directory_watcher import DirectoryWatcher
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

from aegan.errors import FolderNotFoundError
from aegan.readback import not_regular, path_kind

log = logging.getLogger("aegan.run")


def read_events(tb_dir: str | Path) -> EventAccumulator:
    """The events of ``tb_dir`` (a run's ``tb/``), loaded as ``tensorboard --logdir`` reads
    them: ``.Tags()["scalars"]``, ``.Scalars(tag)``; a resumed run's steps logged past its
    checkpoint are purged. An event file that is not a regular file (a FIFO, a device, a
    folder, a link to nothing) is left out with a warning naming it. ``tb_dir`` must be a
    folder: ``FolderNotFoundError`` otherwise (a run with ``logger=none`` has none)."""
    tb_dir = Path(tb_dir)
    try:
        is_dir = stat.S_ISDIR(os.stat(tb_dir).st_mode)
    except FileNotFoundError:
        raise FolderNotFoundError(
            f"{tb_dir} does not exist: a run writes its TensorBoard events there (one with "
            "logger=none writes none)"
        ) from None
    except OSError as err:
        raise FolderNotFoundError(f"{tb_dir} cannot be read ({err.strerror})") from None
    if not is_dir:
        raise FolderNotFoundError(f"{tb_dir} is not a folder: a run's tb/ holds its event files")
    events = EventAccumulator(str(tb_dir))
    # the accumulator's own watcher, as it builds it for a folder, with a loader that looks
    # at what a path is before anything opens it: tensorboard offers no other way in
    events._generator = DirectoryWatcher(
        str(tb_dir), _regular_file_loader, io_wrapper.IsSummaryEventsFile
    )
    return events.Reload()


class _NoEvents:
    """The loader of a path passed over: it yields nothing."""

    def Load(self):  # tensorboard's loader interface, by its name
        return iter(())


def _regular_file_loader(path: str) -> LegacyEventFileLoader | _NoEvents:
    """tensorboard's loader of ``path`` where it is a regular file (a link to one included);
    else nothing, and one line saying what is there."""
    kind = path_kind(path)
    if kind is None:
        return LegacyEventFileLoader(path)
    log.warning("%s: %s; left out of the run's TensorBoard curves", path, not_regular(kind))
    return _NoEvents()
