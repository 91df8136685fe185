"""Files read back: what a run left (metrics, records, checkpoints) or a user named, read
without trusting it. Regular files only (a FIFO would wait forever), within a size, parsed
by loaders that build plain values, each refusal one line naming the file."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
import yaml

from aegan.io.files import NONFINITE_KEY
from aegan.io.path_kinds import not_regular, path_kind

# Result files are kilobytes (failed.json with its traceback the largest) and flat: anything
# far beyond is damage, refused before it costs memory, time or a RecursionError.
MAX_RESULT_BYTES = 8 * 2**20
MAX_JSON_DEPTH = 32
MAX_JSON_KEYS = 10_000  # in one object: a run's metrics.json holds dozens of figures
MAX_YAML_BYTES = 2**20  # a sweep's overrides.yaml and optimization_results.yaml: a few lines
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where installed


def read_json(path: Path) -> dict[str, Any]:
    """What ``write_json`` wrote, with the flagged nulls as floats again. Raises ``ValueError``
    (one line, naming the file) for anything else: not a regular file, over
    ``MAX_RESULT_BYTES``, not UTF-8, not JSON, a number beyond a float (``1e400``), nested
    deeper than ``MAX_JSON_DEPTH``, not a JSON object, a key given twice in one object, an
    object of more than ``MAX_JSON_KEYS`` keys (a table of as many columns per job).
    ``NaN`` and ``Infinity`` are read as floats: aegan wrote them so before the flags."""
    path = Path(path)
    try:
        values = json.loads(
            read_limited(path, MAX_RESULT_BYTES).decode(),
            parse_float=_finite_float,
            parse_int=_float_sized_int,
            object_pairs_hook=_unique_keys,
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
    than ``max_depth``, a mapping's key given twice, over ``MAX_YAML_BYTES``, not UTF-8."""
    path = Path(path)
    try:
        text = read_limited(path, MAX_YAML_BYTES).decode()
        documents = 0
        open_mappings: list[list | None] = []  # per open collection: [keys, nodes] or None
        # the event stream first: flat and lazy, it stops at the first refusal, before the
        # recursive composer or an alias's expansion is reached
        for event in yaml.parse(text, Loader=_YAML_LOADER):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise ValueError("anchors and aliases are not allowed")
            if getattr(event, "tag", None) is not None:
                raise ValueError(f"tags ({event.tag}) are not allowed")
            if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
                _check_new_key(open_mappings, event)
            if isinstance(event, yaml.CollectionStartEvent):
                mapping = isinstance(event, yaml.MappingStartEvent)
                open_mappings.append([set(), 0] if mapping else None)
                if len(open_mappings) > max_depth:
                    raise ValueError(f"nested deeper than {max_depth} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                open_mappings.pop()
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


def _check_new_key(open_mappings: list[list | None], event: yaml.NodeEvent) -> None:
    """Count a node into the collection it opens in; a mapping's key given a second time
    is refused: of its two values, neither is known to be the file's (YAML keeps the last)."""
    if not open_mappings or open_mappings[-1] is None:
        return
    keys, nodes = open_mappings[-1]
    open_mappings[-1][1] += 1
    if nodes % 2 == 0 and isinstance(event, yaml.ScalarEvent):  # a key, not its value
        if event.value in keys:
            raise ValueError(f"the key {_short(repr(event.value))} is given twice")
        keys.add(event.value)


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused (``OSError``) when over ``limit`` bytes:
    by its size before reading, and by what was read (a file that grew meanwhile)."""
    fd = open_regular(path)
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


def open_regular(path: Path) -> int:
    """A read-only descriptor of ``path`` if it is a regular file; ``OSError`` otherwise."""
    kind = path_kind(path)  # before the open: a device is never opened
    if kind is None:  # O_NONBLOCK: a FIFO swapped in meanwhile must not hang the open
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        if (kind := path_kind(fd)) is None:  # else its mode says what was swapped in
            return fd
        os.close(fd)
    raise OSError(not_regular(kind))


ZIP_MAGIC = b"PK\x03\x04"  # how every torch.save file (a zip archive) starts


class DamagedArchive(ValueError):
    """A torch.save file that is cut, damaged, or not as torch.save writes it."""


class NotWeightsOnly(pickle.UnpicklingError):
    """A torch.save file holding Python objects that a weights-only load refuses."""


NOT_WEIGHTS_ONLY = "it holds Python objects beyond tensors and plain containers (possibly code)"


def load_torch_file(path: Path, *, map_location: Any = "cpu") -> Any:
    """``torch.load(weights_only=True)`` of the regular file ``path``, its archive checked
    whole first. Raises ``OSError`` for what is not a regular file (a FIFO would wait
    forever), ``DamagedArchive`` for a cut or damaged archive or a compressed member,
    ``NotWeightsOnly`` for objects beyond weights, and torch's own errors for the rest."""
    with os.fdopen(open_regular(path), "rb") as handle:
        _check_archive(handle)
        handle.seek(0)
        try:
            return torch.load(handle, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:  # torch's text says to load with full pickle
            raise NotWeightsOnly(NOT_WEIGHTS_ONLY) from err


def _check_archive(handle: io.BufferedReader) -> None:
    """A file that starts as a zip archive must be a whole one, each member stored as
    torch.save stores it: a cut or damaged archive is named before torch parses bytes that
    could then read as anything (a pickle naming globals included), and a compressed member
    before torch unpacks it (a few KiB can unpack to more than memory)."""
    try:
        head = handle.read(4)
        if head != ZIP_MAGIC and ZIP_MAGIC.startswith(head):  # empty, or cut inside it
            raise zipfile.BadZipFile(f"{len(head)} bytes, not even an archive's header")
        if head[:1] != b"\x80" and head != ZIP_MAGIC:  # torch's reason for text: "101"
            raise DamagedArchive("not a file torch.save writes (a zip archive or a pickle)")
        if head != ZIP_MAGIC:
            return  # a pickle (torch.save's legacy format): torch's own errors name it
        handle.seek(0)
        with zipfile.ZipFile(handle) as archive:
            _check_members(archive.namelist())
            packed = [i for i in archive.infolist() if i.compress_type != zipfile.ZIP_STORED]
            damaged = None if packed else archive.testzip()  # every member against its CRC
    except DamagedArchive:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as err:
        raise DamagedArchive(f"a cut or damaged archive: {_first_line(err)[:160]}") from None
    if packed:
        raise DamagedArchive(
            f"{packed[0].filename[:120]} is compressed; torch.save stores its members as they are"
        )
    if damaged is not None:
        raise DamagedArchive(f"a cut or damaged archive: {damaged[:120]} fails its checksum")


def _check_members(names: list[str]) -> None:
    """The members torch reads, as torch.save writes them: ``data.pkl`` and ``version`` in
    the folder of the first member, and no member outside it; else torch's refusal is a C++
    assertion's text."""
    folder = names[0].split("/")[0] if names else ""
    outside = next((name for name in names if not name.startswith(f"{folder}/")), None)
    if outside is not None:
        raise DamagedArchive(
            f"a zip archive, but not as torch.save writes one: {outside[:60]!r} lies outside "
            f"its folder {folder[:40]}/"
        )
    if f"{folder}/data.pkl" not in names or not {
        f"{folder}/version",
        f"{folder}/.data/version",
    } & set(names):
        shown = ", ".join(name[:40] for name in names[:3]) or "no members"
        raise DamagedArchive(
            f"a zip archive, but not as torch.save writes one ({shown}): no data.pkl and "
            "version in its folder"
        )


def shown_read_value(value: Any) -> str:
    """``value`` for a one-line message: a tensor by its dtype and shape (its values are not
    read), a long integer by its size, not hundreds of digits."""
    if torch.is_tensor(value):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    return f"{value!r:.40}"


def _first_line(err: BaseException) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0]


def _short(text: str) -> str:
    return text if len(text) <= 24 else text[:20] + "..."


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are each given once: of two values for one figure, neither
    is known to be the run's (``json`` would keep the last); and at most ``MAX_JSON_KEYS``."""
    if len(pairs) > MAX_JSON_KEYS:
        raise ValueError(f"an object of {len(pairs)} keys, over {MAX_JSON_KEYS}")
    values: dict[str, Any] = {}
    for key, value in pairs:
        if key in values:
            raise ValueError(f"the key {_short(repr(key))} is given twice")
        values[key] = value
    return values


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
