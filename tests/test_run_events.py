"""A run's TensorBoard events read back (``aegan.runs.events``, the GAN notebook's curves): what
stands in an event file's place without being one is left out in one line, never opened to
wait for a writer; the curves of the files beside it are read as tensorboard reads them."""

from __future__ import annotations

import logging
import os
import struct
import threading
from pathlib import Path

import pytest
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
from torch.utils.tensorboard import SummaryWriter

from aegan.engine.folder_lock import hold_run_folder
from aegan.errors import ConfigError, FolderNotFoundError
from aegan.runs.events import read_events

STRANGER = "events.out.tfevents.9999999999.host.1.0"  # sorted after the real file
WAIT_S = 60  # a read of three scalars takes milliseconds; this only stops a hung open


def logged(tb: Path, steps: range, *, purge_step: int | None = None) -> None:
    with SummaryWriter(str(tb), purge_step=purge_step) as writer:
        for step in steps:
            writer.add_scalar("train/loss", 1.0 / (step + 1), step)


def read_in_time(tb: Path, fifo: Path | None = None):
    """``read_events(tb)``, failing (not hanging) where it does not return within WAIT_S."""
    result: dict = {}

    def read() -> None:
        try:
            result["events"] = read_events(tb)
        except Exception as err:  # raised again here, in the test's own thread
            result["error"] = err

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(WAIT_S)
    if reader.is_alive():
        if fifo is not None:  # a writer at last: the hung open returns and the thread ends
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"read_events({tb}) still waits after {WAIT_S} s")
    if "error" in result:
        raise result["error"]
    return result["events"]


@pytest.mark.parametrize(
    "make, kind",
    [(os.mkfifo, "a FIFO, not a regular file"),
     (Path.mkdir, "a folder, not a regular file"),
     (lambda p: p.symlink_to("/dev/zero"), "a device, not a regular file"),
     (lambda p: p.symlink_to(p.with_name("gone")), "a link to nothing")],
)  # fmt: skip
def test_what_is_no_event_file_is_left_out_in_one_line(tmp_path, caplog, make, kind):
    tb = tmp_path / "tb"
    logged(tb, range(3))
    make(tb / STRANGER)
    with caplog.at_level(logging.WARNING, logger="aegan.run"):
        events = read_in_time(tb, tb / STRANGER)
    assert [point.step for point in events.Scalars("train/loss")] == [0, 1, 2]
    assert caplog.messages == [f"{tb / STRANGER}: {kind}; left out of the run's TensorBoard curves"]


def test_a_file_name_with_a_line_break_is_said_on_one_line(tmp_path, caplog):
    """The name was written as it is: the warning's line split in two at its line break."""
    tb = tmp_path / "tb"
    logged(tb, range(3))
    (tb / "events.out.tfevents.1.host\nrm -rf").write_bytes(b"xx")
    with caplog.at_level(logging.WARNING, logger="aegan.run"):
        read_in_time(tb)
    assert caplog.messages == [
        f"{tb}/events.out.tfevents.1.host\\nrm -rf: damaged after 0 of 2 bytes (it ends "
        "inside a record; 0 events read); the curves stop there"
    ]


def test_a_fifo_put_in_an_event_files_place_since_it_was_read_is_not_waited_on(tmp_path, caplog):
    """A second Reload (a notebook's, of a run training now) opened the file it had read
    without looking again: a FIFO in its place waited forever for a writer."""
    tb = tmp_path / "tb"
    logged(tb, range(3))
    events = read_in_time(tb)
    (path,) = tb.iterdir()
    path.unlink()
    os.mkfifo(path)
    reloaded: dict = {}
    reader = threading.Thread(target=lambda: reloaded.update(events=events.Reload()), daemon=True)
    with caplog.at_level(logging.WARNING, logger="aegan.run"):
        reader.start()
        reader.join(WAIT_S)
        if reader.is_alive():
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            pytest.fail(f"Reload() of {tb} still waits after {WAIT_S} s")
    assert [point.step for point in reloaded["events"].Scalars("train/loss")] == [0, 1, 2]
    assert caplog.messages == [
        f"{path}: damaged (a FIFO, not a regular file; 4 events read); the curves stop there"
    ]


def test_a_resumed_runs_curves_are_read_as_tensorboard_reads_them(tmp_path):
    """The steps logged past the checkpoint it resumed from are purged, as ``purge_step``
    tells tensorboard: each step is shown once."""
    tb = tmp_path / "tb"
    logged(tb, range(10))
    logged(tb, range(5, 8), purge_step=5)
    events = read_in_time(tb)
    assert [point.step for point in events.Scalars("train/loss")] == list(range(8))


def test_a_link_to_an_event_file_is_read(tmp_path):
    logged(tmp_path / "elsewhere", range(2))
    (tmp_path / "tb").mkdir()
    (original,) = (tmp_path / "elsewhere").iterdir()
    (tmp_path / "tb" / original.name).symlink_to(original)
    assert len(read_in_time(tmp_path / "tb").Scalars("train/loss")) == 2


@pytest.mark.parametrize(
    "make, message",
    [(lambda p: None, "does not exist: a run writes its TensorBoard events there (one with "
                      "logger=none writes none)"),
     (os.mkfifo, "is not a folder: a run's tb/ holds its event files"),
     (lambda p: p.write_text(""), "is not a folder: a run's tb/ holds its event files")],
)  # fmt: skip
def test_a_tb_folder_that_is_none_is_one_line(tmp_path, make, message):
    make(tmp_path / "tb")
    with pytest.raises(FolderNotFoundError) as caught:
        read_in_time(tmp_path / "tb")
    assert str(caught.value) == f"{tmp_path / 'tb'} {message}"


def record_starts(data: bytes) -> list[int]:
    """Where each record of an event file's bytes begins (its framing: a u64 length, the
    length's checksum, the bytes, their checksum)."""
    starts, offset = [], 0
    while offset < len(data):
        starts.append(offset)
        offset += 16 + struct.unpack("<Q", data[offset : offset + 8])[0]
    return starts


def declaring(length: int) -> bytes:
    """A record header whose length field is ``length``, with its right checksum."""
    field = struct.pack("<Q", length)
    return field + struct.pack("<I", masked_crc32c(field))


# each damage -> (the bytes of a 20-step file it leaves, the record they stop at, the reason)
DAMAGES = {
    "cut in a record": (lambda data, at: data[: at + 20], "it ends inside a record"),
    "garbage from a record on": (
        lambda data, at: data[:at] + bytes(range(256)) * 4,
        "a record's length fails its checksum",
    ),
    "a flipped byte in a record": (
        lambda data, at: data[: at + 14] + bytes([data[at + 14] ^ 1]) + data[at + 15 :],
        "a record fails its checksum",
    ),
    "a record declaring 2**40 bytes": (
        lambda data, at: data[:at] + declaring(2**40) + data[at:],
        "a record declares 1,099,511,627,776 bytes, past the file's end",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_event_file_is_read_up_to_the_damage_and_said(tmp_path, caplog, damage):
    """Its curves stopped there without a word (a huge length raised MemoryError)."""
    tb = tmp_path / "tb"
    logged(tb, range(20))
    (path,) = tb.iterdir()
    data = path.read_bytes()
    at = record_starts(data)[11]  # the version record, then steps 0..9 are whole
    damaged, reason = DAMAGES[damage]
    path.write_bytes(damaged(data, at))
    with caplog.at_level(logging.WARNING, logger="aegan.run"):
        events = read_in_time(tb)
    assert [point.step for point in events.Scalars("train/loss")] == list(range(10))
    assert caplog.messages == [
        f"{path}: damaged after {at:,} of {path.stat().st_size:,} bytes ({reason}; 11 events "
        "read); the curves stop there"
    ]


def test_a_record_of_a_gigabyte_in_a_sparse_file_is_not_read(tmp_path, caplog):
    """Its length fit in the file, so it was read whole into memory and its checksum summed
    (in Python, without aegan.tensorboard_writer's C code: minutes for a gigabyte)."""
    tb = tmp_path / "tb"
    logged(tb, range(3))
    (path,) = tb.iterdir()
    size = path.stat().st_size
    with path.open("ab") as file:
        file.write(declaring(2**29))
    os.truncate(path, size + 2**29 + 16)
    with caplog.at_level(logging.WARNING, logger="aegan.run"):
        events = read_in_time(tb)
    assert [point.step for point in events.Scalars("train/loss")] == [0, 1, 2]
    assert caplog.messages == [
        f"{path}: damaged after {size:,} of {size + 2**29 + 16:,} bytes (a record declares "
        "536,870,912 bytes, more than a run writes in one; 4 events read); the curves stop there"
    ]


def test_a_whole_event_file_is_read_without_a_word(tmp_path, caplog):
    tb = tmp_path / "run" / "tb"
    logged(tb, range(20))
    with caplog.at_level(logging.WARNING, logger="aegan.run"):
        assert len(read_in_time(tb).Scalars("train/loss")) == 20
        with hold_run_folder(tb.parent):  # its run still trains
            assert len(read_in_time(tb).Scalars("train/loss")) == 20
    assert not caplog.messages


def test_a_record_being_written_by_a_training_run_is_read_once_whole(tmp_path, caplog):
    """The newest file of a run that trains now ends inside the record being written: no
    warning at each reload, and the record is read once the run has written it."""
    tb = tmp_path / "run" / "tb"
    logged(tb, range(20))
    (path,) = tb.iterdir()
    data = path.read_bytes()
    at = record_starts(data)[11]
    path.write_bytes(data[: at + 20])
    with caplog.at_level(logging.WARNING, logger="aegan.run"), hold_run_folder(tb.parent):
        events = read_in_time(tb)
        assert len(events.Scalars("train/loss")) == 10 and not caplog.messages
        path.write_bytes(data)
        assert len(events.Reload().Scalars("train/loss")) == 20 and not caplog.messages
    path.write_bytes(data[: at + 20])  # no run holds it: a run stopped in mid-record
    with caplog.at_level(logging.WARNING, logger="aegan.run"):
        read_in_time(tb)
    assert caplog.messages == [
        f"{path}: damaged after {at:,} of {at + 20:,} bytes (it ends inside a record; 11 events "
        "read); the curves stop there"
    ]


def test_a_runs_own_folder_is_refused_naming_its_tb_folder(tmp_path):
    """``read_events(run.path)`` found no event files there and gave back no curves at all."""
    logged(tmp_path / "tb", range(3))
    with pytest.raises(FolderNotFoundError) as caught:
        read_in_time(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path} holds no event files: a run writes them in its tb/ folder; read "
        f"{tmp_path / 'tb'}"
    )


@pytest.mark.parametrize("value", ["", "  ", None, 5, b"tb", "tb\n"])
def test_what_is_no_folder_path_is_one_line_naming_tb_dir(value):
    """A blank path read the current folder (no curves, no word); None, a number or bytes
    failed inside pathlib with a TypeError."""
    with pytest.raises(ConfigError) as caught:
        read_events(value)
    line = str(caught.value)
    assert line.startswith("tb_dir=") and "\n" not in line
    assert "is not allowed: it must be a run's tb/ folder" in line
