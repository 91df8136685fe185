"""TensorBoard's event writer, adjusted for a training loop: its checksum in C, its writer
thread's failures left to the loop to say, and each write whole through a stop signal."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from tensorboard.summary.writer import event_file_writer, record_writer
from torch.utils.tensorboard import SummaryWriter

from aegan.signals.held_stops import held

__all__ = ["SummaryWriter"]


def masked_crc32c(data: bytes) -> int:
    """TensorBoard's record checksum (masked CRC-32C), computed by ``google-crc32c``'s C code.

    Without TensorFlow, TensorBoard's writer computes it in pure Python (~0.1 us per byte) in
    its writer thread, holding the GIL: an image grid's record then stalls the training loop
    for milliseconds. Same value, as ``tests/test_tensorboard.py`` checks.
    """
    crc = google_crc32c.value(bytes(data))
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


try:
    import google_crc32c
except ImportError:  # a machine without it (e.g. the GPU check's): TensorBoard's own, slower
    pass
else:
    record_writer.masked_crc32c = masked_crc32c


def _quiet_writer_thread(args: threading.ExceptHookArgs) -> None:
    """TensorBoard's writer thread keeps a failed write (a full disk, its folder removed)
    for the training thread, which stops the run with one line naming it, and then raises
    it again itself: its traceback on the console would bury that line."""
    writer_thread = isinstance(args.thread, event_file_writer._AsyncWriterThread)
    if not (writer_thread and isinstance(args.exc_value, OSError)):
        _thread_hook(args)


_thread_hook, threading.excepthook = threading.excepthook, _quiet_writer_thread


def _whole(write: Callable[..., Any]) -> Callable[..., Any]:
    """``write`` (an event into the writer thread's queue, a flush, the close) run whole: a
    stop's exception inside ``Queue.put`` counted an event and never woke the writer thread,
    so the stop's flush waited for that thread's timer (two minutes) before the run ended."""

    @functools.wraps(write)
    def whole(*args: Any, **kwargs: Any) -> Any:
        with held:
            return write(*args, **kwargs)

    return whole


for _name in ("write", "flush", "close"):
    _method = getattr(event_file_writer._AsyncWriter, _name)
    setattr(event_file_writer._AsyncWriter, _name, _whole(_method))
