"""Files of a run's record, written atomically: a crash, a full disk or SIGKILL at any
moment leaves either the old file or the new one, never a part. Metrics are strict JSON
(``aegan.io.readback`` reads them back). ``check_folder`` checks a setting that names a folder
before anything is written there."""

from __future__ import annotations

import errno
import io
import json
import math
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

import torch

from aegan.errors import ConfigError, not_text
from aegan.io.path_kinds import NOT_UTF8, encodable, path_kind, shown

NONFINITE_KEY = "_nonfinite"  # metrics.json: {key: "nan" | "inf" | "-inf"} for the nulls


def _process_umask() -> int:
    """The umask, read at import: setting it to learn it is not safe once threads (a
    TensorBoard writer's) may create files."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes 0600 files; a run's record is read by whoever may read its train.log
NEW_FILE_MODE = 0o666 & ~_process_umask()


def atomic_write_bytes(path: Path, data: bytes | memoryview) -> None:
    """Write ``data`` to ``path``: temp file in the same folder -> fsync -> rename -> fsync
    the folder. On any failure the temp file goes and ``path`` is as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:  # the temp file's random name would mean nothing to the reader
        raise OSError(err.errno, err.strerror, str(path)) from err
    try:
        os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode) if path.exists() else NEW_FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.filename is None:  # a full disk's failed write
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise
    fsync_dir(path.parent)


def left_by_killed_writes(folder: Path, names: str) -> list[Path]:
    """The temp files in ``folder`` of ``atomic_write_bytes`` to the files whose names match
    the regex ``names`` (``.NAME.XXXXXXXX.tmp``, mkstemp's): a process killed while writing
    leaves one, as large as the file, and nothing else removes it."""
    pattern = re.compile(rf"\.(?:{names})\.[a-z0-9_]{{8}}\.tmp")
    try:
        return sorted(p for p in folder.glob(".*.tmp") if pattern.fullmatch(p.name) and p.is_file())
    except OSError:  # not a folder that can be read: what writes there says so
        return []


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save(obj)`` to ``path`` atomically. ``obj`` is serialised in memory first, so
    that a full disk fails as a plain ``OSError`` (torch's zip writer turns it into a
    ``RuntimeError`` about file positions)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getbuffer())


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def file_stamp(info: os.stat_result) -> tuple[int, ...]:
    """What ``stat`` tells of a file's bytes: a file written since has another stamp."""
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def free_name(path: Path) -> Path:
    """``path``, or the first ``path-N`` that nothing holds yet."""
    free, number = path, 1
    while os.path.lexists(free):
        free = path.with_name(f"{path.name}-{number}")
        number += 1
    return free


def copy_aside(path: Path, tag: str) -> Path:
    """Keep a copy of ``path`` at a free ``NAME.TAG[-N]`` beside it, ``path`` left in place
    until the caller writes the new file over it (atomically): a stop in between leaves the
    old file under its own name, where ``keep_aside`` would leave none. A hard link where
    the file system has them, else a copy."""
    while True:
        kept = free_name(path.with_name(f"{path.name}.{tag}"))
        try:
            os.link(path, kept, follow_symlinks=False)
        except FileExistsError:  # taken since free_name looked: the next free one
            continue
        except OSError as err:  # no hard links here (EPERM, ENOTSUP...): the bytes, copied
            if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            atomic_write_bytes(kept, path.read_bytes())
        fsync_dir(path.parent)
        return kept


def keep_aside(path: Path, tag: str) -> Path:
    """Rename ``path`` (atomically) to a free ``NAME.TAG[-N]`` beside it and return that:
    a file set aside, never overwritten."""
    kept = free_name(path.with_name(f"{path.name}.{tag}"))
    os.replace(path, kept)
    fsync_dir(path.parent)
    return kept


def _nonfinite_name(value: float) -> str:
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def write_json(path: Path, values: dict[str, Any]) -> None:
    """Write ``values`` atomically as strict JSON: a non-finite float becomes null, and
    ``_nonfinite`` says which keys those are and what they were."""
    flags = {
        key: _nonfinite_name(value)
        for key, value in values.items()
        if isinstance(value, float) and not math.isfinite(value)
    }
    clean = {key: None if key in flags else value for key, value in values.items()}
    if flags:
        clean[NONFINITE_KEY] = flags
    text = json.dumps(clean, indent=2, sort_keys=True, allow_nan=False) + "\n"
    atomic_write_bytes(path, text.encode())


def natural_key(path: Path) -> list[int | str]:
    """Job dirs in numeric order: 2 before 10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def below(name: str) -> bool:
    """Whether ``name``, joined to a folder, names a folder below it: not empty or ``.``,
    not absolute, no ``..`` (a sweep's job folder, one a sweep's plan lists)."""
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def given_path(key: str, value: Any, allowed: str) -> Path:
    """``value``, a path the caller gave, as a ``Path`` with ``~`` expanded, else
    ``ConfigError`` naming ``key`` and what is ``allowed``: an empty or blank one would
    silently mean the current folder, what is no path a ``TypeError`` from inside pathlib, a
    newline (pasted into an environment variable) would split every message that names the
    path, and ``~/x`` (``--out=~/x``, which no shell expands) was checked as the home
    folder's x and read or written as ./~/x."""
    text = os.fspath(value) if isinstance(value, os.PathLike) else value
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(not_text(key, value, allowed))
    if not encodable(text):
        raise ConfigError(f"{key}='{shown(text)}' is not allowed: {NOT_UTF8}")
    if _has_control(text):
        raise ConfigError(
            f"{key}={text!r:.80} is not allowed: it must be {allowed} without control characters"
        )
    try:
        return Path(text).expanduser()
    except RuntimeError:  # pathlib's "Could not determine home directory."
        home = Path(text).parts[0]
        raise ConfigError(
            f"{key}={text!r} is not allowed: {home} names no home folder here"
        ) from None


def _has_control(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def check_folder(key: str, value: Any, *, allow_none: bool = False) -> bool:
    """Raise ``ConfigError`` unless ``value`` is a path (``~`` allowed) that is or can become a
    folder: non-empty text, no file at it or above it, no name too long. Returns whether the
    folder exists. An empty path would silently mean the current folder, and null "None"."""
    if value is None and allow_none:
        return False
    # a key that is itself an aegan variable (a notebook's AEGAN_LOG_DIR) is named already
    source = "" if key.startswith("AEGAN_") else set_by(value)
    allowed = f"a folder path{' or null' if allow_none else ''}"
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(not_text(key, value, allowed, source))
    if not encodable(value):
        raise ConfigError(f"{key}='{shown(value)}'{source} is not allowed: {NOT_UTF8}")
    if _has_control(value):  # a newline pasted into a variable
        raise ConfigError(
            f"{key}={value!r}{source} is not allowed: it must be {allowed} without control "
            "characters"
        )
    variable = re.search(r"\$\{?([A-Za-z_]\w*)", value)  # '$HOME/x', quoted or from a file
    if variable and variable[1] in os.environ:  # no shell expands it: a folder named $HOME
        raise ConfigError(
            f"{key}={value!r}{source} is not allowed: ${variable[1]} is not expanded here; "
            f"write ${{oc.env:{variable[1]}}} for the variable's value"
        )
    try:
        path = Path(value).expanduser()
    except RuntimeError as err:  # ~nosuchuser
        raise ConfigError(f"{key}={value}{source} is not allowed: {err}") from None
    for folder in (path, *path.parents):  # the nearest part that exists must be a folder
        try:
            is_dir = stat.S_ISDIR(os.stat(folder).st_mode)
        except (FileNotFoundError, NotADirectoryError):  # a file above it: named below
            if not os.path.islink(folder):
                continue
            is_dir = False  # a link to nothing: makedirs finds it there and fails
        except PermissionError:  # a folder above it this user may not search: name it
            locked = next((p for p in path.parents if os.access(p, os.F_OK)), path.anchor)
            raise ConfigError(
                f"{key}={value!r}{source} is not allowed: {locked} cannot be searched by this "
                "user (Permission denied); choose a folder it may write in"
            ) from None
        except (OSError, ValueError) as err:  # a name too long, a NUL byte
            if getattr(err, "errno", None) != errno.ELOOP:  # a loop of links: named below
                reason = err.strerror if isinstance(err, OSError) else str(err)
                raise ConfigError(
                    f"{key}={value!r}{source} is not allowed: it cannot be a folder ({reason})"
                ) from None
            is_dir = False
        if not is_dir:
            where = "it is" if folder == path else f"{folder} is"
            what = path_kind(folder) or "a file"  # a FIFO, a socket, a device: no file either
            raise ConfigError(f"{key}={value}{source} is not allowed: {where} {what}, not a folder")
        return folder == path
    return False


def set_by(value: Any) -> str:
    """`` (from AEGAN_CACHE_DIR)`` where an aegan environment variable holds ``value``: the conf
    files read some folders from one, and the user may not know that they set it."""
    names = sorted(k for k, v in os.environ.items() if k.startswith("AEGAN_") and v == value)
    return f" (from {names[0]})" if names else ""
