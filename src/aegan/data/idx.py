"""Read the IDX format of (Fashion-)MNIST, plain or gzipped, with checked headers."""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np
import torch

from aegan.errors import DataFileError

# The third magic byte names the element type; we accept the ones real files use.
# A download a server or browser unpacked keeps its .gz name ('Not a gzipped file' named no
# way on), and a gzipped copy may lose it; an IDX file starts 00 00, so the bytes tell.
GZIP_MAGIC = b"\x1f\x8b"
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path, *, expected_ndim: int | None = None) -> torch.Tensor:
    """Read an IDX file (gzipped or not, as its bytes say) into a tensor, checking its header.

    Raises ``DataFileError`` naming the file when the header is wrong, names more bytes than
    this machine's memory holds twice (read, then copied into the tensor), or the payload is shorter or longer than the header says. The
    payload is read to the header's size and one byte more, never further: a small ``.gz``
    can unpack to far more than memory.
    """
    path = Path(path)
    try:
        with open(path, "rb") as probe:  # gzip by its bytes, not its name: see GZIP_MAGIC
            opener = gzip.open if probe.read(2) == GZIP_MAGIC else open
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4:
                raise DataFileError(f"{path}: too short for an IDX header ({len(head)} bytes)")
            zero0, zero1, type_code, ndim = head
            if zero0 != 0 or zero1 != 0 or type_code not in _IDX_DTYPES or not 1 <= ndim <= 4:
                raise DataFileError(
                    f"{path}: bad IDX magic number {head.hex()} "
                    f"(expected 0000 + type byte 08/09/0b/0c/0d/0e + 1..4 dims)"
                )
            if expected_ndim is not None and ndim != expected_ndim:
                raise DataFileError(f"{path}: IDX file has {ndim} dims, expected {expected_ndim}")
            dims = f.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise DataFileError(f"{path}: truncated IDX header")
            shape = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4"))
            dtype = np.dtype(_IDX_DTYPES[type_code])
            expected_bytes = math.prod(shape) * dtype.itemsize  # Python ints: no int64 overflow
            memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            if 2 * expected_bytes > memory:  # the bytes read, and the tensor made of them
                raise DataFileError(
                    f"{path}: IDX header says shape {shape} ({expected_bytes / 2**30:.1f} GiB, "
                    f"held twice as it is read), more than this machine's "
                    f"{memory / 2**30:.1f} GiB of memory (a damaged file, or a data set too "
                    "large to hold)"
                )
            payload = f.read(expected_bytes + 1)
    except (OSError, EOFError, zlib.error) as err:  # gzip's on damaged streams, zlib's within
        raise DataFileError(f"{path}: cannot read IDX file ({err})") from err
    if len(payload) != expected_bytes:
        held = len(payload) if len(payload) < expected_bytes else f"more than {expected_bytes}"
        raise DataFileError(
            f"{path}: IDX header says shape {shape} ({expected_bytes} bytes) "
            f"but the file holds {held} bytes (truncated or wrong file)"
        )
    try:
        array = np.frombuffer(payload, dtype=dtype).reshape(shape)
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
