"""The IDX reader reads real files and rejects broken ones with a clear message."""

import gzip

import numpy as np
import pytest

from aegan.data import DataFileError, read_idx
from aegan.data.idx import write_idx
from aegan.data.sources import DEBIAN_FASHION_MNIST


def test_round_trip_gz_and_raw(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a-idx3-ubyte", "a-idx3-ubyte.gz"):
        write_idx(tmp_path / name, array)
        assert read_idx(tmp_path / name).numpy().tolist() == array.tolist()


def test_real_fashion_mnist_labels():
    labels = read_idx(DEBIAN_FASHION_MNIST / "t10k-labels-idx1-ubyte.gz", expected_ndim=1)
    assert labels.shape == (10000,)
    assert sorted(labels.unique().tolist()) == list(range(10))


def test_bad_magic_is_rejected(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x12\x34\x08\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(DataFileError, match=r"bad.*magic number 12340801"):
        read_idx(path)


def test_truncated_file_is_rejected(tmp_path):
    path = tmp_path / "short-idx1-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + bytes(60))
    with pytest.raises(DataFileError, match=r"short-idx1-ubyte.gz.*\(100,\).*60 bytes"):
        read_idx(path)


def test_corrupt_gzip_is_rejected(tmp_path):
    path = tmp_path / "corrupt.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(DataFileError, match="corrupt.gz"):
        read_idx(path)


def test_wrong_dimensionality_is_rejected(tmp_path):
    write_idx(tmp_path / "x", np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(DataFileError, match="2 dims, expected 3"):
        read_idx(tmp_path / "x", expected_ndim=3)
