"""IDX files built byte by byte from the format's spec (magic 00 00 TYPE NDIM, NDIM big-endian
uint32 sizes, big-endian payload), not with write_idx, and what reading one exactly means."""

import gzip
from pathlib import Path

import numpy as np
import torch

# type byte -> (big-endian numpy dtype of the payload, the torch dtype read_idx must return)
IDX_TYPES = {
    0x08: (np.dtype("u1"), torch.uint8),
    0x09: (np.dtype("i1"), torch.int8),
    0x0B: (np.dtype(">i2"), torch.int16),
    0x0C: (np.dtype(">i4"), torch.int32),
    0x0D: (np.dtype(">f4"), torch.float32),
    0x0E: (np.dtype(">f8"), torch.float64),
}


def idx_bytes(type_code: int, array: np.ndarray) -> bytes:
    """The IDX encoding of ``array`` as element type ``type_code``, straight from the spec."""
    header = bytes([0, 0, type_code, array.ndim])
    header += b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    return header + np.ascontiguousarray(array, dtype=IDX_TYPES[type_code][0]).tobytes()


def write_file(path: Path, data: bytes) -> Path:
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def assert_reads_exactly(tensor: torch.Tensor, type_code: int, array: np.ndarray) -> None:
    dtype, torch_dtype = IDX_TYPES[type_code]
    assert tensor.dtype == torch_dtype
    assert tuple(tensor.shape) == array.shape
    # bit for bit, so NaN payloads, -0.0 and the extremes of each type count too
    expected = np.ascontiguousarray(array, dtype=dtype).astype(dtype.newbyteorder("="))
    assert tensor.numpy().tobytes() == expected.tobytes()
