"""Files of a run's record, written atomically: a crash, a full disk or SIGKILL at any
moment leaves either the old file or the new one, never a part. Metrics are strict JSON."""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

NONFINITE_KEY = "_nonfinite"  # metrics.json: {key: "nan" | "inf" | "-inf"} for the nulls


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
    (naming the file) for a file that is not a JSON object."""
    path = Path(path)
    try:
        values = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not readable as JSON ({err})") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path}: not a JSON object")
    flags = values.pop(NONFINITE_KEY, None) or {}
    if isinstance(flags, dict):
        for key, name in flags.items():
            if values.get(key) is None and name in ("nan", "inf", "-inf"):
                values[key] = float(name)
    return values
