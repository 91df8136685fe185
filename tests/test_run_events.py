"""A run's TensorBoard events read back (``aegan.run_events``, the GAN notebook's curves): what
stands in an event file's place without being one is left out in one line, never opened to
wait for a writer; the curves of the files beside it are read as tensorboard reads them."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest
from torch.utils.tensorboard import SummaryWriter

from aegan.errors import FolderNotFoundError
from aegan.run_events import read_events

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
