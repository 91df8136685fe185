"""A gzipped IDX file whose compressed bytes are damaged anywhere (the header, the deflate
stream, the checksum, the length) is read, or refused as a DataFileError naming the file:
never zlib's own error, a traceback from the check of the settings."""

import gzip

import numpy as np

from aegan.data import DataFileError, read_idx


def test_every_damaged_byte_of_a_gzip_stream_reads_or_names_the_file(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (4, 8, 8), dtype=np.uint8)
    header = bytes([0, 0, 8, 3]) + np.asarray(images.shape, dtype=">u4").tobytes()
    whole = gzip.compress(header + images.tobytes(), mtime=0)
    path = tmp_path / "damaged-idx3-ubyte.gz"
    refused = set()
    for at in range(len(whole)):
        damaged = bytearray(whole)
        damaged[at] ^= 0xA5
        path.write_bytes(bytes(damaged))
        try:
            read_idx(path)
        except DataFileError as err:
            assert str(err).startswith(f"{path}: "), str(err)
            refused.add(at)
    assert len(refused) > len(whole) // 2  # the checksum catches what the stream does not
