"""The IDX reader reads no more than its header claims: a small ``.gz`` that unpacks far past
its header, or a header that claims more than this machine's memory, is one DataFileError
naming the file, before the bytes cost memory."""

import gzip
import os
import tracemalloc
import zlib

import pytest

from aegan.data import DataFileError, read_idx

MiB = 2**20


def gzip_of_zeros(path, header: bytes, zeros: int) -> None:
    """``header`` then ``zeros`` zero bytes, gzipped a MiB at a time (the file is a few
    hundred KiB; the bytes it unpacks to are never held here)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    with path.open("wb") as f:
        f.write(deflate.compress(header))
        for _ in range(zeros // MiB):
            f.write(deflate.compress(bytes(MiB)))
        f.write(deflate.flush())


def test_a_gzip_that_unpacks_past_its_header_is_refused_without_unpacking_it(tmp_path):
    path = tmp_path / "bomb-idx1-ubyte.gz"
    gzip_of_zeros(path, bytes([0, 0, 8, 1]) + (1000).to_bytes(4, "big"), 256 * MiB)
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError, match=r"bomb-idx1-ubyte.gz: .*\(1000,\).*more than 1000"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB, f"{peak / MiB:.0f} MiB held to refuse a 1000-byte header's file"


@pytest.mark.parametrize(
    ("share", "message"), [(1, ".*GiB of memory"), (2, ".*held twice as it is read")]
)
def test_a_header_claiming_more_than_memory_is_refused_before_reading(tmp_path, share, message):
    """The bytes read are copied into the tensor: a header naming more than half of this
    machine's memory (a .gz of a few MiB can unpack to it) was read, and the process
    killed for memory with nothing said, or, as here, refused only once read."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    rows = memory // share // (28 * 28) + 1  # uint8 28x28 images: one more than it holds
    path = tmp_path / "huge-idx3-ubyte.gz"
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (rows, 28, 28))
    if rows >= 2**32:
        pytest.skip("this machine's memory is beyond what an IDX header can name")
    path.write_bytes(gzip.compress(header + bytes(100)))
    with pytest.raises(DataFileError, match=f"huge-idx3-ubyte.gz: {message}"):
        read_idx(path)
