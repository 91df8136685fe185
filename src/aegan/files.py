"""Files of a run's record, written atomically: a crash, a full disk or SIGKILL at any
moment leaves either the old file or the new one, never a part. Metrics are strict JSON.
``check_folder`` checks a setting that names a folder before anything is written there."""

from __future__ import annotations

import io
import json
import math
import os
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch
import yaml

from aegan.errors import ConfigError

NONFINITE_KEY = "_nonfinite"  # metrics.json: {key: "nan" | "inf" | "-inf"} for the nulls
# Result files are kilobytes (failed.json with its traceback the largest) and flat: anything
# far beyond is damage, refused before it costs memory, time or a RecursionError.
MAX_RESULT_BYTES = 8 * 2**20
MAX_JSON_DEPTH = 32
MAX_YAML_BYTES = 2**20  # a sweep's overrides.yaml and optimization_results.yaml: a few lines
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where installed


def atomic_write_bytes(path: Path, data: bytes | memoryview) -> None:
    """Write ``data`` to ``path``: temp file in the same folder -> fsync -> rename -> fsync
    the folder. On any failure the temp file goes and ``path`` is as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


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


def read_json(path: Path) -> dict[str, Any]:
    """What ``write_json`` wrote, with the flagged nulls as floats again. Raises ``ValueError``
    (one line, naming the file) for anything else: not a regular file, over
    ``MAX_RESULT_BYTES``, not UTF-8, not JSON, a number beyond a float (``1e400``), nested
    deeper than ``MAX_JSON_DEPTH``, not a JSON object. ``NaN`` and ``Infinity`` are read as
    floats: aegan wrote them so before the flags."""
    path = Path(path)
    try:
        values = json.loads(
            read_limited(path, MAX_RESULT_BYTES).decode(),
            parse_float=_finite_float,
            parse_int=_float_sized_int,
        )
    except RecursionError:  # deeper than the parser can go: the depth check's message
        raise ValueError(f"{path}: nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:  # JSONDecodeError is a ValueError
        raise ValueError(f"{path}: not readable as JSON ({_first_line(err)})") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path}: not a JSON object")
    if _depth_exceeds(values, MAX_JSON_DEPTH):
        raise ValueError(f"{path}: nested deeper than {MAX_JSON_DEPTH} levels")
    flags = values.pop(NONFINITE_KEY, None) or {}
    if isinstance(flags, dict):
        for key, name in flags.items():
            if values.get(key) is None and name in ("nan", "inf", "-inf"):
                values[key] = float(name)
    return values


def read_plain_yaml(path: Path, max_depth: int) -> Any:
    """YAML as Hydra and Optuna's sweeper write it: plain lists, mappings and scalars. Raises
    ``ValueError`` (one line, naming the file) for anything else: anchors and aliases (a few
    hundred bytes of aliases expand to gigabytes), tags, a second document, nesting deeper
    than ``max_depth``, over ``MAX_YAML_BYTES``, not UTF-8."""
    path = Path(path)
    try:
        text = read_limited(path, MAX_YAML_BYTES).decode()
        depth, documents = 0, 0
        # the event stream first: flat and lazy, it stops at the first refusal, before the
        # recursive composer or an alias's expansion is reached
        for event in yaml.parse(text, Loader=_YAML_LOADER):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise ValueError("anchors and aliases are not allowed")
            if getattr(event, "tag", None) is not None:
                raise ValueError(f"tags ({event.tag}) are not allowed")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    raise ValueError(f"nested deeper than {max_depth} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise ValueError("more than one document")
        return yaml.load(text, Loader=_YAML_LOADER)  # a safe loader: no object construction
    except yaml.MarkedYAMLError as err:  # its first line is the context, not the problem
        mark = err.problem_mark
        where = f", line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ValueError(f"{path}: not readable as YAML ({err.problem}{where})") from None
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as err:
        raise ValueError(f"{path}: not readable as plain YAML ({_first_line(err)})") from None


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused (``OSError``) when over ``limit`` bytes:
    by its size before reading, and by what was read (a file that grew meanwhile)."""
    fd = _open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise OSError(f"{size} bytes, over the {limit} allowed")
        chunks, size = [], 0
        while size <= limit:  # limit + 1 bytes at most: the one more says it grew past
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(f"over the {limit} bytes allowed")
    return data


def _open_regular(path: Path) -> int:
    """A read-only descriptor of ``path`` if it is a regular file; ``OSError`` otherwise."""
    # O_NONBLOCK: a FIFO must not hang the open; a folder opens and is refused by its mode
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise OSError("a folder, not a file" if stat.S_ISDIR(mode) else "not a regular file")
    return fd


ZIP_MAGIC = b"PK\x03\x04"  # how every torch.save file (a zip archive) starts


class DamagedArchive(ValueError):
    """A torch.save file that is cut, damaged, or not as torch.save writes it."""


def load_torch_file(path: Path, *, map_location: Any = "cpu") -> Any:
    """``torch.load(weights_only=True)`` of the regular file ``path``, its archive checked
    whole first. Raises ``OSError`` for what is not a regular file (a FIFO would wait
    forever), ``DamagedArchive`` for a cut or damaged archive or a compressed member, and
    torch's own errors for the rest."""
    with os.fdopen(_open_regular(path), "rb") as handle:
        _check_archive(handle)
        handle.seek(0)
        return torch.load(handle, map_location=map_location, weights_only=True)


def _check_archive(handle: io.BufferedReader) -> None:
    """A file that starts as a zip archive must be a whole one, each member stored as
    torch.save stores it: a cut or damaged archive is named before torch parses bytes that
    could then read as anything (a pickle naming globals included), and a compressed member
    before torch unpacks it (a few KiB can unpack to more than memory)."""
    try:
        head = handle.read(4)
        if head != ZIP_MAGIC and ZIP_MAGIC.startswith(head):  # empty, or cut inside it
            raise zipfile.BadZipFile(f"{len(head)} bytes, not even an archive's header")
        if head != ZIP_MAGIC:
            return  # not an archive: torch's own errors name what it is
        handle.seek(0)
        with zipfile.ZipFile(handle) as archive:
            packed = [i for i in archive.infolist() if i.compress_type != zipfile.ZIP_STORED]
            damaged = None if packed else archive.testzip()  # every member against its CRC
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as err:
        raise DamagedArchive(f"a cut or damaged archive: {_first_line(err)[:160]}") from None
    if packed:
        raise DamagedArchive(
            f"{packed[0].filename[:120]} is compressed; torch.save stores its members as they are"
        )
    if damaged is not None:
        raise DamagedArchive(f"a cut or damaged archive: {damaged[:120]} fails its checksum")


def check_folder(key: str, value: Any, *, allow_none: bool = False) -> bool:
    """Raise ``ConfigError`` unless ``value`` is a path (``~`` allowed) that is or can become a
    folder: non-empty text, no file at it or above it, no name too long. Returns whether the
    folder exists. An empty path would silently mean the current folder, and null "None"."""
    if value is None and allow_none:
        return False
    source = _set_by(value)
    allowed = f"a folder path{' or null' if allow_none else ''}"
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}={value!r}{source} is not allowed: it must be {allowed}")
    try:
        path = Path(value).expanduser()
    except RuntimeError as err:  # ~nosuchuser
        raise ConfigError(f"{key}={value}{source} is not allowed: {err}") from None
    for folder in (path, *path.parents):  # the nearest part that exists must be a folder
        try:
            is_dir = stat.S_ISDIR(os.stat(folder).st_mode)
        except (FileNotFoundError, NotADirectoryError):  # a file above it: named below
            continue
        except (OSError, ValueError) as err:  # a name too long, no permission, a NUL byte
            reason = err.strerror if isinstance(err, OSError) else str(err)
            raise ConfigError(
                f"{key}={value!r}{source} is not allowed: it cannot be a folder ({reason})"
            ) from None
        if not is_dir:
            where = "it is" if folder == path else f"{folder} is"
            raise ConfigError(f"{key}={value}{source} is not allowed: {where} a file, not a folder")
        return folder == path
    return False


def _set_by(value: Any) -> str:
    """`` (from AEGAN_CACHE_DIR)`` where an aegan environment variable holds ``value``: the conf
    files read some folders from one, and the user may not know that they set it."""
    names = sorted(k for k, v in os.environ.items() if k.startswith("AEGAN_") and v == value)
    return f" (from {names[0]})" if names else ""


def _first_line(err: BaseException) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0]


def _short(text: str) -> str:
    return text if len(text) <= 24 else text[:20] + "..."


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{_short(text)} is beyond a float")
    return value


def _float_sized_int(text: str) -> int:
    if len(text.lstrip("-")) > 309:  # beyond 1.8e308; and int() is slow on huge digit runs
        raise ValueError(f"{_short(text)} is beyond a float")
    value = int(text)
    try:
        float(value)  # summaries compare and format numbers as floats
    except OverflowError:
        raise ValueError(f"{_short(text)} is beyond a float") from None
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether lists/objects in ``value`` nest deeper than ``limit`` (without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return False
