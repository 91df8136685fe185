"""Thousands of event files in a run's tb/, whole or cut short: read with one listing of the
folder, not one a file (quadratic: 3,000 files took 21 s)."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from test_run_events import logged, read_in_time


@contextmanager
def listings_of(folder: Path):
    """The listings of ``folder`` made inside the block, by anyone in this process (the
    count, not the clock: a listing per file is quadratic in the files)."""
    listed, listdir = [], os.listdir

    def counted(path="."):
        if Path(path) == folder:
            listed.append(path)
        return listdir(path)

    with mock.patch("os.listdir", counted):
        yield listed


def test_thousands_of_event_files_are_read_in_a_listing_each(tmp_path):
    """tensorboard's watcher listed the folder again after each file: 3,000 files of one
    point each took 21 s (quadratic), and a folder of many more stopped a notebook."""
    tb = tmp_path / "tb"
    logged(tb, range(1))
    (first,) = tb.iterdir()
    for i in range(3000):
        os.link(first, tb / f"events.out.tfevents.{i:06d}.host")
    with listings_of(tb) as listed:
        events = read_in_time(tb)
    assert len(events.Scalars("train/loss")) == 3001
    assert 1 <= len(listed) <= 2  # not one a file


def test_thousands_of_event_files_cut_short_are_said_without_a_listing_each(tmp_path, caplog):
    """Each cut file listed the folder again to learn whether it was the newest one, which
    a training run could be writing: 3,000 took 6 s (quadratic)."""
    tb = tmp_path / "tb"
    logged(tb, range(1))
    (first,) = tb.iterdir()
    cut = first.read_bytes()[:-3]
    for i in range(5000):
        (tb / f"events.out.tfevents.{i:06d}.host").write_bytes(cut)
    with listings_of(tb) as listed, caplog.at_level(logging.WARNING, logger="aegan.run"):
        read_in_time(tb)
    assert 1 <= len(listed) <= 2  # not one a file
    assert len(caplog.messages) == 5000 and "it ends inside a record" in caplog.messages[0]
