"""The errors a user can fix from the message alone: each is one line naming what is wrong.

At the bottom of the import graph, so that any layer can raise them and the entry points
can turn them into one line and exit code 2 (``aegan.cli``).
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting that cannot work; the message names the key, the value and what is allowed."""


class CheckpointError(ValueError):
    """A checkpoint or run folder that cannot be used or written; the message names the file."""


class DataNotFoundError(FileNotFoundError):
    """No way to get the data set worked; the message says what was tried."""


class DataFileError(ValueError):
    """A data file exists but cannot be read as what it should be."""


class NonFiniteError(RuntimeError):
    """The loss became NaN or infinite and ``trainer.on_nonfinite=stop``."""


class DiskFullError(OSError):
    """The disk filled up while a run wrote its record; the message says what was kept."""


USER_ERRORS: tuple[type[Exception], ...] = (
    ConfigError, CheckpointError, DataNotFoundError, DataFileError, NonFiniteError, DiskFullError,
)  # fmt: skip
