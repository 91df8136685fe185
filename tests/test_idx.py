"""The IDX reader reads valid files of every element type exactly and rejects broken ones with a
DataFileError that names the file. Files are built byte by byte from the format's spec
(``idx_spec.py``), not with write_idx; generated ones: ``test_idx_generated.py``."""

import gzip

import numpy as np
import pytest
import torch
from idx_spec import IDX_TYPES, assert_reads_exactly, idx_bytes, write_file

from aegan.data import DataFileError, read_idx
from aegan.data.idx import write_idx
from aegan.data.sources import DEBIAN_FASHION_MNIST


def extreme_values(type_code: int) -> np.ndarray:
    dtype = IDX_TYPES[type_code][0]
    if dtype.kind == "f":
        info = np.finfo(dtype)
        values = [0.0, -0.0, 1.5, -2.25, info.max, info.min, info.tiny, np.inf, -np.inf, np.nan]
    else:
        info = np.iinfo(dtype)
        values = [0, 1, -1 if info.min < 0 else 2, info.max, info.min, info.max // 3]
    return np.array(values, dtype=dtype)


# --- valid files ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("type_code", sorted(IDX_TYPES))
def test_every_element_type_reads_exactly_including_its_extremes(tmp_path, type_code, suffix):
    values = extreme_values(type_code)
    array = np.resize(values, (2, 3, values.size))  # 3 dims, every extreme in every row
    path = write_file(tmp_path / f"x-{type_code:02x}{suffix}", idx_bytes(type_code, array))
    tensor = read_idx(path, expected_ndim=3)
    assert_reads_exactly(tensor, type_code, array)
    # a float payload of big-endian bytes read as little-endian would not survive this
    if IDX_TYPES[type_code][0].kind == "f":
        assert tensor[0, 0, 2].item() == 1.5 and tensor[0, 0, 3].item() == -2.25


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_one_to_four_dims_and_empty_arrays_read(tmp_path, ndim):
    shape = (3, 1, 2, 5)[:ndim]
    array = np.arange(np.prod(shape), dtype=np.int32).reshape(shape) - 7
    tensor = read_idx(write_file(tmp_path / "a", idx_bytes(0x0C, array)), expected_ndim=ndim)
    assert_reads_exactly(tensor, 0x0C, array)
    empty = np.zeros((0,) + shape[1:], dtype=np.uint8)
    assert read_idx(write_file(tmp_path / "e.gz", idx_bytes(0x08, empty))).shape == empty.shape


def test_sizes_are_big_endian_uint32(tmp_path):
    # 256 = 00 00 01 00 and 65536 = 00 01 00 00: a little-endian or int8 size reader misreads both
    for size in (256, 65536):
        array = (np.arange(size) % 251).astype(np.uint8)
        tensor = read_idx(write_file(tmp_path / f"s{size}", idx_bytes(0x08, array)))
        assert_reads_exactly(tensor, 0x08, array)


def test_real_fashion_mnist_labels():
    labels = read_idx(DEBIAN_FASHION_MNIST / "t10k-labels-idx1-ubyte.gz", expected_ndim=1)
    assert labels.shape == (10000,) and labels.dtype == torch.uint8
    # Fashion-MNIST's test set has exactly 1000 of each class
    assert torch.bincount(labels.long()).tolist() == [1000] * 10


def test_write_idx_writes_the_spec_bytes(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a-idx3-ubyte", array)
    assert (tmp_path / "a-idx3-ubyte").read_bytes() == idx_bytes(0x08, array)
    write_idx(tmp_path / "a-idx3-ubyte.gz", array[0].T)  # non-contiguous input
    assert gzip.decompress((tmp_path / "a-idx3-ubyte.gz").read_bytes()) == idx_bytes(
        0x08, array[0].T
    )
    assert read_idx(tmp_path / "a-idx3-ubyte.gz").numpy().tolist() == array[0].T.tolist()
    # any integer array with values in 0..255 is written as uint8
    write_idx(tmp_path / "wide", array.astype(np.int64))
    assert (tmp_path / "wide").read_bytes() == idx_bytes(0x08, array)


# --- broken files ---------------------------------------------------------------------------


def test_bad_magic_is_rejected(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x12\x34\x08\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(DataFileError, match=r"bad.*magic number 12340801"):
        read_idx(path)


@pytest.mark.parametrize(
    "magic",
    [b"\x01\x00\x08\x01", b"\x00\x01\x08\x01", b"\x00\x00\x0a\x01", b"\x00\x00\x07\x01",
     b"\x00\x00\x0f\x01", b"\x00\x00\x08\x00", b"\x00\x00\x08\x05"],
)  # fmt: skip
def test_each_wrong_magic_byte_is_rejected(tmp_path, magic):
    # one wrong byte at a time, with a payload that would fit a 1-dim uint8 file of 3 bytes
    path = tmp_path / "one-bad-byte"
    path.write_bytes(magic + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(
        DataFileError, match=rf"one-bad-byte: bad IDX magic number {magic.hex()} \("
    ):
        read_idx(path)


@pytest.mark.parametrize("length", [0, 1, 3])
def test_files_shorter_than_the_magic_are_rejected(tmp_path, length):
    path = write_file(tmp_path / "tiny", bytes([0, 0, 8])[:length])
    with pytest.raises(DataFileError, match=rf"tiny: too short for an IDX header \({length} bytes"):
        read_idx(path)


def test_a_magic_number_alone_is_a_truncated_header(tmp_path):
    path = write_file(tmp_path / "magic-only", bytes([0, 0, 8, 1]))
    with pytest.raises(DataFileError, match="magic-only: truncated IDX header"):
        read_idx(path)
    path = write_file(tmp_path / "two-of-three", bytes([0, 0, 8, 3]) + bytes(8))
    with pytest.raises(DataFileError, match="two-of-three: truncated IDX header"):
        read_idx(path)


def test_truncated_file_is_rejected(tmp_path):
    path = tmp_path / "short-idx1-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + bytes(60))
    with pytest.raises(DataFileError, match=r"short-idx1-ubyte.gz.*\(100,\).*60 bytes"):
        read_idx(path)


@pytest.mark.parametrize("extra", [-1, 1])
def test_payload_one_element_byte_off_is_rejected(tmp_path, extra):
    array = np.arange(6, dtype=">f8").reshape(2, 3)
    data = idx_bytes(0x0E, array)
    data = data[:extra] if extra < 0 else data + b"\x00"
    path = write_file(tmp_path / "off-by-one", data)
    with pytest.raises(
        DataFileError,
        match=rf"off-by-one: .*\(2, 3\) \(48 bytes\).*{47 if extra < 0 else 'more than 48'} bytes",
    ):
        read_idx(path)


def test_corrupt_gzip_is_rejected(tmp_path):
    path = tmp_path / "corrupt.gz"
    path.write_bytes(b"\x1f\x8bnot gzip after its magic")
    with pytest.raises(DataFileError, match="corrupt.gz: cannot read IDX file"):
        read_idx(path)
    # a gzip stream cut short raises EOFError inside gzip
    whole = gzip.compress(idx_bytes(0x08, np.arange(100, dtype=np.uint8)))
    (tmp_path / "cut.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataFileError, match="cut.gz: cannot read IDX file"):
        read_idx(tmp_path / "cut.gz")


@pytest.mark.parametrize(("name", "gzipped"), [("unpacked.gz", False), ("packed", True)])
def test_a_file_is_read_as_its_bytes_are_whatever_its_name(tmp_path, name, gzipped):
    """A download a browser unpacked keeps its .gz name: 'Not a gzipped file'; a gzipped
    copy without it: 'bad IDX magic number 1f8b0808'."""
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    data = idx_bytes(0x08, array)
    (tmp_path / name).write_bytes(gzip.compress(data) if gzipped else data)
    assert read_idx(tmp_path / name).numpy().tolist() == array.tolist()


def test_a_missing_file_is_a_data_file_error(tmp_path):
    with pytest.raises(DataFileError, match="absent-idx1-ubyte: cannot read IDX file"):
        read_idx(tmp_path / "absent-idx1-ubyte")


def test_wrong_dimensionality_is_rejected(tmp_path):
    write_idx(tmp_path / "x", np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(DataFileError, match="x: IDX file has 2 dims, expected 3"):
        read_idx(tmp_path / "x", expected_ndim=3)
    assert read_idx(tmp_path / "x", expected_ndim=2).shape == (2, 2)
