"""A run's TensorBoard curves read back (notebooks): tensorboard's own accumulator over the
event files of ``RUN_DIR/tb``, each of which must be a regular file. Opened, a FIFO in a
file's place waits forever for a writer and a device reads without end; each is left out,
said in one line, and the files beside it are read. A file damaged part way (cut, or
garbage from some byte on) is read up to there, and said so in one line: tensorboard's
loader stops there without a word, and the curves looked complete."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import stat
import struct
from collections.abc import Iterator
from pathlib import Path

from google.protobuf.message import DecodeError
from tensorboard.backend.event_processing import io_wrapper
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.summary.writer import record_writer

from aegan.errors import FolderNotFoundError
from aegan.io.files import given_path
from aegan.io.path_kinds import not_regular, path_kind, shown
from aegan.io.readback import open_regular

log = logging.getLogger("aegan.run")


def read_events(tb_dir: str | Path) -> EventAccumulator:
    """The events of ``tb_dir`` (a run's ``tb/``), loaded as ``tensorboard --logdir`` reads
    them: ``.Tags()["scalars"]``, ``.Scalars(tag)``; a resumed run's steps logged past its
    checkpoint are purged. An event file that is not a regular file (a FIFO, a device, a
    folder, a link to nothing) is left out with a warning naming it. ``tb_dir`` must be a
    folder: ``FolderNotFoundError`` otherwise (a run with ``logger=none`` has none), and a
    run's own folder is refused, naming its ``tb/``: read as it is, it held no curves."""
    tb_dir = given_path("tb_dir", tb_dir, "a run's tb/ folder")  # blank: the current folder
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
    if _holds_no_events(tb_dir) and (tb_dir / "tb").is_dir():  # read_events(run.path)
        raise FolderNotFoundError(
            f"{tb_dir} holds no event files: a run writes them in its tb/ folder; read "
            f"{tb_dir / 'tb'}"
        )
    events = EventAccumulator(str(tb_dir))
    # in place of the accumulator's own watcher (tensorboard offers no other way in), a
    # loader that looks at what a path is before anything opens it
    events._generator = _FolderLoader(tb_dir)
    return events.Reload()


def _holds_no_events(folder: Path) -> bool:
    try:
        return not any(io_wrapper.IsSummaryEventsFile(name) for name in os.listdir(folder))
    except OSError:  # unreadable: the loader says so in one line
        return False


class _FolderLoader:
    """The event files of a folder in name order, as tensorboard's watcher reads them, each
    continued from where the last ``Load`` left it. The folder is listed once per ``Load``:
    tensorboard's watcher lists it again after each file, minutes for thousands of files."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.loaders: dict[str, _EventFileLoader | _NoEvents] = {}

    def Load(self) -> Iterator[Event]:  # tensorboard's loader interface, by its name
        try:
            names = sorted(n for n in os.listdir(self.folder) if io_wrapper.IsSummaryEventsFile(n))
        except OSError as err:  # gone, or unreadable, since read_events looked
            log.warning("%s: not readable (%s); no curves read", shown(self.folder), err.strerror)
            return
        for name in names:
            if name not in self.loaders:
                self.loaders[name] = _regular_file_loader(str(self.folder / name))
            loader = self.loaders[name]
            loader.newest = name == names[-1]  # the one a run training now writes
            yield from loader.Load()


class _NoEvents:
    """The loader of a path passed over: it yields nothing."""

    def Load(self):  # tensorboard's loader interface, by its name
        return iter(())


def _regular_file_loader(path: str) -> _EventFileLoader | _NoEvents:
    """The loader of ``path`` where it is a regular file (a link to one included); else
    nothing, and one line saying what is there."""
    kind = path_kind(path)
    if kind is None:
        return _EventFileLoader(Path(path))
    log.warning("%s: %s; left out of the run's TensorBoard curves", shown(path), not_regular(kind))
    return _NoEvents()


HEADER = struct.Struct("<QI")  # a record: its length, the length's masked CRC-32C, ...
FOOTER = struct.Struct("<I")  # ... its bytes, and their masked CRC-32C
# a run writes none larger: a grid of 64 images of data.image_size=1024 is 200 MB unpacked
MAX_RECORD_BYTES = 256 * 2**20


class _EventFileLoader:
    """The events of one file, record by record, as tensorboard's own loader reads them;
    where a record fails (cut, a checksum that differs, a length past the file's end, bytes
    that are no event), the events before it, and one warning line naming the file. A
    record cut short at the end of the newest file of a run that is training now is being
    written: no warning, and the next ``Load`` reads it once it is whole."""

    def __init__(self, path: Path):
        self.path, self.offset, self.events, self.said = path, 0, 0, False
        self.newest = True  # of its folder's event files, as last listed (_FolderLoader)

    def Load(self) -> Iterator[Event]:  # tensorboard's loader interface, by its name
        try:
            # looked at again as it is opened: a FIFO put in its place since would wait
            with os.fdopen(open_regular(self.path), "rb") as file:
                size = os.fstat(file.fileno()).st_size
                file.seek(self.offset)
                while self.offset < size:
                    event = _next_event(file, size - self.offset)
                    if isinstance(event, str):
                        self._stopped(size, event)
                        return
                    self.offset, self.events = file.tell(), self.events + 1
                    yield event
        except OSError as err:  # gone, or unreadable, since it was listed
            self._stopped(None, err.strerror or str(err))

    def _stopped(self, size: int | None, problem: str) -> None:
        if self.said or (problem == CUT_SHORT and self.newest and _written_now(self.path)):
            return
        self.said = True
        where = f" after {self.offset:,} of {size:,} bytes" if size is not None else ""
        log.warning("%s: damaged%s (%s; %s events read); the curves stop there",
                    shown(self.path), where, problem, f"{self.events:,}")  # fmt: skip


CUT_SHORT = "it ends inside a record"


def _next_event(file, left: int) -> Event | str:
    """The event of the record at ``file``'s position (``left`` bytes to the file's end), or
    what is wrong with that record. Nothing past the file's end is read, nor a record over
    ``MAX_RECORD_BYTES``: a length field of 2**62, or of a gigabyte in a sparse file, is not
    allocated. The checksum is the writer's (in C once ``aegan.logger`` is
    imported, as a run in this process does; else tensorboard's own, as its loader's)."""
    header = file.read(HEADER.size)
    if len(header) < HEADER.size:
        return CUT_SHORT
    length, length_crc = HEADER.unpack(header)
    if record_writer.masked_crc32c(header[:8]) != length_crc:
        return "a record's length fails its checksum"
    if HEADER.size + length + FOOTER.size > left:
        if length <= MAX_RECORD_BYTES:
            return CUT_SHORT
        return f"a record declares {length:,} bytes, past the file's end"
    if length > MAX_RECORD_BYTES:  # a sparse file's hole: not read into memory, nor summed
        return f"a record declares {length:,} bytes, more than a run writes in one"
    data, footer = file.read(length), file.read(FOOTER.size)
    if len(footer) < FOOTER.size:  # cut since its size was taken
        return CUT_SHORT
    if record_writer.masked_crc32c(data) != FOOTER.unpack(footer)[0]:
        return "a record fails its checksum"
    try:
        return Event.FromString(data)
    except DecodeError:
        return "a record holds no event"


def _written_now(path: Path) -> bool:
    """Whether the run folder of ``path`` (an event file in its ``tb/``) is held by a
    process now (``aegan.engine.folder_lock``'s lock; probed shared and let go at once)."""
    try:
        fd = os.open(path.parent.parent, os.O_RDONLY)
    except OSError:  # gone meanwhile: nothing is written there now
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as err:
        return err.errno in (errno.EWOULDBLOCK, errno.EAGAIN)
    finally:
        os.close(fd)  # the probe's lock goes with it
    return False
