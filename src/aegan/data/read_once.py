"""Data files read once: before the run's folder is made, and taken from there by the run.

``validate_config`` reads the local files a run will train on (an image folder, IDX files
in ``data.root`` or found without it), so a damaged image is refused in one line before the
run's folder is made; the run then takes the same tensors instead of decoding every image
again. What the read logged is held with it and logged again by whoever takes it, into the
run's log.
A read is reused only while every file's ``stat`` stamp is unchanged.
"""

from __future__ import annotations

import copy
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aegan.data.sources import ImageData

HOLD_SHARE = 0.25  # of this machine's memory that reads kept for later jobs may take
_LOGGER = "aegan.data"  # the readers' loggers are below it


@dataclass
class _Read:
    stamp: Hashable
    data: ImageData
    records: list[logging.LogRecord]
    size: int  # bytes of its tensors


_held: OrderedDict[Hashable, _Read] = OrderedDict()


def read_once(key: Hashable, stamp: Hashable, reader: Callable[[], ImageData]) -> _Read:
    """The data ``reader`` returns for ``key``, read now unless held with the same ``stamp``;
    its log lines are captured, for ``taken`` to give."""
    held = _held.get(key)
    if held is None or held.stamp != stamp:
        _held.pop(key, None)  # the files changed: the old tensors go before the new are read
        with _captured() as records:
            data = reader()
        held = _Read(stamp, data, records, _nbytes(data))
        _held[key] = held
    _held.move_to_end(key)
    _keep_within(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * HOLD_SHARE)
    return held


def taken(held: _Read) -> ImageData:
    """``held``'s data for a run, its log lines logged now: a shallow copy, since the run
    sets its splits (``data.subset``, ``data.binarize``); the tensors are shared, unchanged."""
    for record in held.records:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)
    return copy.copy(held.data)


def forget_reads() -> None:
    """Let go of every read held: a single run has taken its own."""
    _held.clear()


def _keep_within(budget: float) -> None:
    """Drop the oldest reads past ``budget`` bytes; the newest is kept, its run to come."""
    while len(_held) > 1 and sum(read.size for read in _held.values()) > budget:
        _held.popitem(last=False)


def _nbytes(data: ImageData) -> int:
    return sum(v.numel() * v.element_size() for v in vars(data).values() if hasattr(v, "numel"))


@contextmanager
def _captured() -> Iterator[list[logging.LogRecord]]:
    """The records of ``aegan.data``'s loggers while it runs, at every level, held back
    from the handlers: before the run's folder there is no log to take them."""
    logger = logging.getLogger(_LOGGER)
    records: list[logging.LogRecord] = []
    handler = _Holder(records)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


class _Holder(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
