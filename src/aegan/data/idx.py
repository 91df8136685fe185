"""Read the IDX format of (Fashion-)MNIST, plain or gzipped, with checked headers."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import torch

from aegan.errors import DataFileError

# The third magic byte names the element type; we accept the ones real files use.
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path, *, expected_ndim: int | None = None) -> torch.Tensor:
    """Read an IDX file (``.gz`` or raw) into a tensor, checking magic number and size.

    Raises ``DataFileError`` naming the file when the header is wrong or the payload is
    shorter or longer than the header says.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:  # gzip raises these on corrupt streams
        raise DataFileError(f"{path}: cannot read IDX file ({err})") from err
    if len(raw) < 4:
        raise DataFileError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    zero0, zero1, type_code, ndim = raw[:4]
    if zero0 != 0 or zero1 != 0 or type_code not in _IDX_DTYPES or not 1 <= ndim <= 4:
        raise DataFileError(
            f"{path}: bad IDX magic number {raw[:4].hex()} "
            f"(expected 0000 + type byte 08/09/0b/0c/0d/0e + 1..4 dims)"
        )
    if expected_ndim is not None and ndim != expected_ndim:
        raise DataFileError(f"{path}: IDX file has {ndim} dims, expected {expected_ndim}")
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise DataFileError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header_end], dtype=">u4"))
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected_bytes = math.prod(shape) * dtype.itemsize  # Python ints: no int64 overflow
    payload = len(raw) - header_end
    if payload != expected_bytes:
        raise DataFileError(
            f"{path}: IDX header says shape {shape} ({expected_bytes} bytes) "
            f"but the file holds {payload} bytes (truncated or wrong file)"
        )
    try:
        array = np.frombuffer(raw, dtype=dtype, offset=header_end).reshape(shape)
    except ValueError as err:  # no elements, but dimensions past what an array can have
        raise DataFileError(
            f"{path}: IDX header says shape {shape}, which no array can have"
        ) from err
    return torch.from_numpy(array.astype(dtype.newbyteorder("="), copy=True))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (gzipped when the name ends in .gz); used by tests and tools."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())
