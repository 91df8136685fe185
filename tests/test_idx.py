"""The IDX reader reads valid files of every element type exactly and rejects broken ones with a
DataFileError that names the file. Files are built here byte by byte from the format's spec
(magic 00 00 TYPE NDIM, NDIM big-endian uint32 sizes, big-endian payload), not with write_idx."""

import gzip
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aegan.data import DataFileError, read_idx
from aegan.data.idx import write_idx
from aegan.data.sources import DEBIAN_FASHION_MNIST

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
    path.write_bytes(b"not gzip at all")
    with pytest.raises(DataFileError, match="corrupt.gz: cannot read IDX file"):
        read_idx(path)
    # a gzip stream cut short raises EOFError inside gzip
    whole = gzip.compress(idx_bytes(0x08, np.arange(100, dtype=np.uint8)))
    (tmp_path / "cut.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataFileError, match="cut.gz: cannot read IDX file"):
        read_idx(tmp_path / "cut.gz")


def test_a_missing_file_is_a_data_file_error(tmp_path):
    with pytest.raises(DataFileError, match="absent-idx1-ubyte: cannot read IDX file"):
        read_idx(tmp_path / "absent-idx1-ubyte")


def test_wrong_dimensionality_is_rejected(tmp_path):
    write_idx(tmp_path / "x", np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(DataFileError, match="x: IDX file has 2 dims, expected 3"):
        read_idx(tmp_path / "x", expected_ndim=3)
    assert read_idx(tmp_path / "x", expected_ndim=2).shape == (2, 2)


# --- generated files ------------------------------------------------------------------------

GENERATED = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def valid_idx(draw):
    """(type code, array): any element type, 1 to 4 dims of 0 to 4 elements, any values
    (NaN, infinities and subnormals included)."""
    type_code = draw(st.sampled_from(sorted(IDX_TYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=1, max_size=4)))
    dtype = IDX_TYPES[type_code][0]
    size = int(np.prod(shape)) * dtype.itemsize
    raw = draw(st.binary(min_size=size, max_size=size))
    return type_code, np.frombuffer(raw, dtype=dtype).reshape(shape)


@GENERATED
@given(case=valid_idx(), gz=st.booleans())
def test_generated_valid_files_round_trip_exactly(case, gz):
    type_code, array = case
    with tempfile.TemporaryDirectory() as folder:
        path = write_file(
            Path(folder) / ("valid.gz" if gz else "valid"), idx_bytes(type_code, array)
        )
        assert_reads_exactly(read_idx(path, expected_ndim=array.ndim), type_code, array)


def corruptions(type_code: int, array: np.ndarray):
    """Strategies that break one thing in a valid file's bytes."""
    data = idx_bytes(type_code, array)
    header_end = 4 + 4 * array.ndim
    bad_type = st.integers(0, 255).filter(lambda b: b not in IDX_TYPES)
    return st.one_of(
        # cut anywhere before the end (the empty payload of a zero-size array cannot be cut)
        st.integers(0, len(data) - 1).map(lambda n: data[:n]),
        # bytes past the payload
        st.binary(min_size=1, max_size=9).map(lambda extra: data + extra),
        # one of the two zero bytes not zero
        st.tuples(st.sampled_from([0, 1]), st.integers(1, 255)).map(
            lambda ib: data[: ib[0]] + bytes([ib[1]]) + data[ib[0] + 1 :]
        ),
        bad_type.map(lambda b: data[:2] + bytes([b]) + data[3:]),
        # a dimension count of 0 or more than 4
        st.sampled_from([0, 5, 6, 255]).map(lambda n: data[:3] + bytes([n]) + data[4:]),
        # one size one bigger than the payload holds
        st.integers(0, array.ndim - 1).map(
            lambda d: (
                data[: 4 + 4 * d]
                + (array.shape[d] + 1).to_bytes(4, "big")
                + data[8 + 4 * d : header_end]
                + data[header_end:]
            )
        ),
    )


@st.composite
def broken_idx(draw):
    type_code, array = draw(valid_idx())
    if array.size == 0:  # a zero-size array's bigger size could still hold 0 bytes: refill
        array = np.zeros((1,) * array.ndim, dtype=IDX_TYPES[type_code][0])
    return draw(corruptions(type_code, array))


@GENERATED
@given(data=broken_idx(), gz=st.booleans())
def test_generated_broken_files_raise_a_data_file_error_naming_the_file(data, gz):
    with tempfile.TemporaryDirectory() as folder:
        path = write_file(Path(folder) / ("broken.gz" if gz else "broken"), data)
        with pytest.raises(DataFileError) as error:
            read_idx(path)
        assert str(error.value).startswith(f"{path}: ")


@st.composite
def idx_like_bytes(draw):
    """A header that is mostly right (any of the bytes may be wrong), small or random sizes, and
    a payload of any length: a mix of valid and broken files with no answer attached."""
    magic = bytes(
        [
            draw(st.sampled_from([0] * 9 + [7])),
            draw(st.sampled_from([0] * 9 + [1])),
            draw(st.sampled_from([*IDX_TYPES] * 3 + [0x0A, 0xFF])),
            draw(st.sampled_from([1, 2, 3, 4] * 3 + [0, 5])),
        ]
    )
    count = draw(st.sampled_from([magic[3]] * 3 + [0, 1, 5]))
    size = st.integers(0, 3) | st.integers(0, 2**32 - 1)
    sizes = draw(st.lists(size, min_size=count, max_size=count))
    itemsize = IDX_TYPES[magic[2]][0].itemsize if magic[2] in IDX_TYPES else 1
    fitting = math.prod(sizes[: magic[3]]) * itemsize  # the payload the header asks for
    if fitting <= 256 and draw(st.integers(0, 2)) < 2:
        payload = draw(st.binary(min_size=fitting, max_size=fitting))
    else:
        payload = draw(st.binary(max_size=48))
    data = magic + b"".join(size.to_bytes(4, "big") for size in sizes) + payload
    return data[: draw(st.integers(0, len(data)))] if draw(st.integers(0, 5)) == 5 else data


@GENERATED
@given(data=st.binary(max_size=40) | idx_like_bytes())
def test_arbitrary_bytes_read_as_the_spec_says_or_fail_naming_the_file(data):
    """Parse the bytes by the spec here; read_idx must return the same array, or raise when the
    spec says the file is not valid IDX (about 1 in 8 of these files is valid)."""
    valid = (
        len(data) >= 4
        and data[0] == data[1] == 0
        and data[2] in IDX_TYPES
        and 1 <= data[3] <= 4
        and len(data) >= 4 + 4 * data[3]
    )
    if valid:
        ndim, dtype = data[3], IDX_TYPES[data[2]][0]
        shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
        valid = len(data) - 4 - 4 * ndim == math.prod(shape) * dtype.itemsize
    if valid:
        try:
            array = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim).reshape(shape)
        except ValueError:  # no elements, but dimensions past what an array can have
            valid = False
    with tempfile.TemporaryDirectory() as folder:
        path = write_file(Path(folder) / "random", data)
        if valid:
            assert_reads_exactly(read_idx(path), data[2], array)
        else:
            with pytest.raises(DataFileError) as error:
                read_idx(path)
            assert str(error.value).startswith(f"{path}: ")
