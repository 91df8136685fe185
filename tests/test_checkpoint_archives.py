"""A checkpoint's zip archive as torch.save writes it, else named in one line before torch
parses it: a cut or flipped byte, a member compressed or outside the archive's folder."""

from __future__ import annotations

import zipfile

import pytest
import torch
from checkpoint_task import a_state

from aegan.engine.checkpoint import load_checkpoint
from aegan.errors import CheckpointError


@pytest.mark.parametrize("members", [["archive/notes.txt"], ["archive/data.pkl"]])
def test_an_archive_torch_save_did_not_write_is_named_in_plain_words(tmp_path, members):
    """torch refused it with its C++ assertion ('Expected hasRecord("version") to be true,
    ... Could this error message be improved?')."""
    path = tmp_path / "c.pt"
    with zipfile.ZipFile(path, "w") as archive:
        for name in members:
            archive.writestr(name, b"\x80\x02}q\x00.")
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value).startswith(
        f"{path}: not a readable checkpoint (a zip archive, but not as torch.save writes one ("
    )
    assert str(caught.value).endswith("no data.pkl and version in its folder)")


def test_a_damaged_byte_inside_the_archive_is_named_not_loaded(tmp_path):
    """torch reads a stored member without its checksum: a flipped bit in the weights would
    load as other weights."""
    path = tmp_path / "c.pt"
    torch.save({"format_version": 2, **a_state()}, path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        member = next(info for info in archive.infolist() if "/data/" in info.filename)
    offset = member.header_offset  # its local header: 30 bytes, then its name and extra field
    name_length, extra_length = (int.from_bytes(data[offset + i : offset + i + 2], "little")
                                 for i in (26, 28))  # fmt: skip
    data[offset + 30 + name_length + extra_length] ^= 0x01  # the member's first byte
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value) == (
        f"{path}: not a readable checkpoint (a cut or damaged archive: {member.filename} "
        "fails its checksum)"
    )


def test_a_compressed_member_is_named_before_it_is_unpacked(tmp_path):
    """torch.save stores its members as they are; torch.load would unpack a compressed one,
    and a few KiB of it can unpack to more than memory."""
    path, bomb = tmp_path / "c.pt", tmp_path / "bomb.pt"
    torch.save({"format_version": 2, **a_state(), "big": torch.zeros(2**20)}, path)
    with zipfile.ZipFile(path) as archive, zipfile.ZipFile(bomb, "w") as out:
        for info in archive.infolist():  # the 4 MiB of zeros deflated, the rest stored
            packing = zipfile.ZIP_DEFLATED if info.file_size >= 2**22 else zipfile.ZIP_STORED
            out.writestr(info.filename, archive.read(info), packing)
    with zipfile.ZipFile(bomb) as archive:
        member = next(i.filename for i in archive.infolist() if i.compress_type != 0)
    assert bomb.stat().st_size < path.stat().st_size // 50
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(bomb)
    assert str(caught.value) == (
        f"{bomb}: not a readable checkpoint ({member} is compressed; torch.save stores its "
        "members as they are)"
    )


@pytest.mark.parametrize("member", ["notes.txt", "other/notes.txt"])
def test_a_member_outside_the_archives_folder_is_named_in_plain_words(tmp_path, member):
    """torch refused it with its C++ assertion ('[enforce fail at inline_container.cc:340]
    . file in archive is not in a subdirectory archive/: ...')."""
    path = tmp_path / "c.pt"
    torch.save({"format_version": 2, **a_state()}, path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_STORED) as archive:
        folder = archive.namelist()[0].split("/")[0]
        archive.writestr(member, b"notes")
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value) == (
        f"{path}: not a readable checkpoint (a zip archive, but not as torch.save writes one: "
        f"{member!r} lies outside its folder {folder}/)"
    )
