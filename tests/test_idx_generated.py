"""Generated IDX files: valid ones of every type and shape read back exactly, broken ones and
arbitrary bytes read as the spec says or fail with a DataFileError that names the file."""

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from idx_spec import IDX_TYPES, assert_reads_exactly, idx_bytes, write_file

from aegan.data import DataFileError, read_idx

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
