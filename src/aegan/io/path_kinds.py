"""A path in the words every message uses: what stands there where a regular file belongs
("a folder", "a FIFO", "a socket", "a device", "a link to nothing", "a loop of links"; by
``stat`` alone: a device is never opened, a FIFO never waited on), and its name as one
printable line (``shown``)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
          stat.S_IFCHR: "a device", stat.S_IFBLK: "a device", stat.S_IFLNK: "a link"}  # fmt: skip


def path_kind(path: Path | int, *, follow_links: bool = True) -> str | None:
    """What is at ``path`` (or a descriptor) where it is no regular file, in the words every
    message uses (``_KINDS``, "a link to nothing", "a loop of links", "not readable (WHY)");
    None for a regular file (through links where followed) or nothing. ``stat`` alone."""
    try:  # a descriptor is stat'ed as it is: follow_symlinks=False refuses one
        mode = os.stat(path, follow_symlinks=follow_links or isinstance(path, int)).st_mode
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "a loop of links"
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return "a link to nothing" if os.path.islink(path) else None
        return f"not readable ({err.strerror or err})"
    return None if stat.S_ISREG(mode) else _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def not_regular(kind: str) -> str:
    """``path_kind``'s words as a reason to refuse a path where a regular file belongs."""
    return f"{kind}, not a regular file" if kind in _KINDS.values() else kind


def shown(path: Path | str) -> str:
    """``path`` as one line of text that any log, terminal or TSV file can hold: bytes that
    are not UTF-8 (a file name from another system) as ``\\xff``, not lone surrogates, and
    control characters (a newline or tab in a name) as ``\\n``, ``\\t``."""
    try:
        text = os.fsencode(path).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that no file name's bytes give
        text = str(path).encode("utf-8", "backslashreplace").decode("utf-8")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


# a name of bytes that are not UTF-8 reaches Python as lone surrogates: a run's record
# (.hydra/*.yaml, TensorBoard's files) holds its text as UTF-8, and cannot hold them
NOT_UTF8 = (
    "it holds bytes that are not UTF-8, and a run's record holds its settings as UTF-8 text; "
    "rename it, or give a link to it whose name is UTF-8"
)


def encodable(text: str) -> bool:
    """Whether UTF-8 can encode ``text`` (see ``NOT_UTF8``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def leads_to(path: Path) -> Path:
    """Where ``path`` leads, absolute: ``RUN/../x`` beside RUN, a link the folder it names;
    a loop of links as it is written (the checks of what stands there name it)."""
    try:
        return path.expanduser().resolve()
    except (OSError, RuntimeError):
        return path.expanduser().absolute()
