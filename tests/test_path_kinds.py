"""What stands where a file belongs without being a regular file (a FIFO, a folder, a socket,
a device, a link to nothing, a loop of links) is said in the same words by every place that
refuses, skips or sets it aside (``aegan.io.path_kinds.path_kind``), none of them guessing ("a
FIFO or a device?"), none opening it."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
from pathlib import Path

import pytest
from PIL import Image

from aegan.bench import append_line
from aegan.cli.script_args import file_argument
from aegan.data.image_files import list_image_folder
from aegan.data.sources import named_idx_dir
from aegan.engine.checkpoint import resolve_checkpoint
from aegan.engine.run_dir import check_not_overwriting
from aegan.engine.run_metrics import earlier_metrics
from aegan.engine.run_record import check_in_its_run
from aegan.errors import CheckpointError, ConfigError, DataNotFoundError
from aegan.io.files import check_folder
from aegan.io.logfile import RunLogHandler
from aegan.io.path_kinds import path_kind
from aegan.io.readback import load_torch_file, read_json
from aegan.runs.events import read_events


def _socket(path: Path) -> None:
    here = Path.cwd()
    os.chdir(path.parent)  # a socket's address is at most 108 bytes: its name alone is
    try:
        with socket.socket(socket.AF_UNIX) as bound:
            bound.bind(path.name)
    finally:
        os.chdir(here)


MAKE = {
    "a FIFO": os.mkfifo,
    "a folder": Path.mkdir,
    "a socket": _socket,
    "a device": lambda p: p.symlink_to(os.devnull),
    "a link to nothing": lambda p: p.symlink_to("gone"),
    "a loop of links": lambda p: p.symlink_to(p.name),
}
LINKS = ("a device", "a link to nothing", "a loop of links")  # made as links
NOTHING_THERE = ("a link to nothing", "a loop of links")  # a folder may be made there
FILE_KINDS = ("a folder", "a FIFO", "a socket", "a device")  # there, but no regular file


def _reason(kind: str) -> str:
    return f"{kind}, not a regular file" if kind in FILE_KINDS else kind


def _plural(kind: str) -> str:
    first, _, rest = kind.removeprefix("a ").partition(" ")
    return f"{first}s {rest}".strip()


def _raised(call, error=Exception) -> str:
    with pytest.raises(error) as caught:
        call()
    return str(caught.value)


def _warned(caplog, call) -> str:
    with caplog.at_level(logging.WARNING):
        call()
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


def _image_folder(tmp_path, odd, caplog):
    Image.new("RGB", (4, 4)).save(tmp_path / "one.png")
    listing = list_image_folder(str(tmp_path), val_size=0, test_size=0)
    return listing.skipped_line() or ""


def _idx_folder(tmp_path, odd, caplog):
    return _raised(lambda: named_idx_dir("mnist", tmp_path), DataNotFoundError)


def _resume_auto(tmp_path, odd, caplog):
    (tmp_path / "metrics.json").write_text("{}")  # a run was trained here
    return _raised(lambda: check_not_overwriting(tmp_path, "auto"), ConfigError)


def _run_record(tmp_path, odd, caplog):
    return _warned(caplog, lambda: check_in_its_run(tmp_path / "checkpoints" / "last.pt", {
        "choices": {"model": "autoencoder"}}))  # fmt: skip


def _event_file(tmp_path, odd, caplog):
    return _warned(caplog, lambda: read_events(tmp_path))


# entry point -> (where the odd thing is put, what is said of it, kinds it does not see)
ENTRY_POINTS = {
    "path_kind": ("x", lambda t, p, c: str(path_kind(p)), "{k}", ()),
    "file_argument": (
        "out.jsonl",
        lambda t, p, c: _raised(lambda: file_argument(str(p)), argparse.ArgumentTypeError),
        "{p} is not allowed: it is {k}; name a file",
        (),
    ),
    "resolve_checkpoint": (
        "last.pt",
        lambda t, p, c: _raised(lambda: resolve_checkpoint(p), CheckpointError),
        "checkpoints/last.pt; it is {k}",
        ("a folder",),
    ),  # a folder: a run's, looked in
    "read_json": (
        "metrics.json",
        lambda t, p, c: _raised(lambda: read_json(p), ValueError),
        "{p}: not readable as JSON ({r})",
        (),
    ),
    "load_torch_file": (
        "w.pt",
        lambda t, p, c: _raised(lambda: load_torch_file(p), OSError),
        "{r}",
        (),
    ),
    "read_events": (
        "events.out.tfevents.1.host",
        _event_file,
        "{p}: {r}; left out of the run's TensorBoard curves",
        (),
    ),
    "list_image_folder": ("x.png", _image_folder, "({pl} 1)", ("a folder",)),  # a class
    "named_idx_dir": (
        "train-images-idx3-ubyte",
        _idx_folder,
        "train-images-idx3-ubyte is {r}; the mnist IDX files",
        (),
    ),
    "check_folder": (
        "root",
        lambda t, p, c: _raised(lambda: check_folder("data.root", str(p)), ConfigError),
        "data.root={p} is not allowed: it is {k}, not a folder",
        ("a folder",),
    ),
    "named_idx_dir's root": (
        "root",
        lambda t, p, c: _raised(lambda: named_idx_dir("mnist", p), DataNotFoundError),
        "data.root={p} is {k}, not a folder; pass the folder",
        (*NOTHING_THERE, "a folder"),
    ),
    "check_not_overwriting": (
        "checkpoints/last.pt",
        _resume_auto,
        "its checkpoints/last.pt is {k};",
        (),
    ),
    "check_in_its_run": (
        ".hydra/config.yaml",
        _run_record,
        "{p}: {r}; the checkpoints of its run are not compared",
        (),
    ),
    "earlier_metrics": (
        "metrics.json",
        lambda t, p, c: _warned(c, lambda: earlier_metrics(p, logging.getLogger())),
        "{p} is {r}; kept as",
        LINKS,
    ),  # a link is set aside as a link, naming where it leads
    "RunLogHandler": (
        "train.log",
        lambda t, p, c: _raised(lambda: RunLogHandler(str(p))),
        "{p} cannot be opened: it is {k}, not a log file",
        (),
    ),
    "append_line": (
        "bench.jsonl",
        lambda t, p, c: _raised(lambda: append_line(p, "{}")),
        "{p} cannot be appended to: it is {k};",
        (),
    ),
}
NOT_FOLLOWED = ("RunLogHandler", "append_line")  # a link is refused as one: never written through


@pytest.fixture(autouse=True)
def _no_wait():
    signal.alarm(30)  # a FIFO opened to read waits for a writer forever
    yield
    signal.alarm(0)


@pytest.mark.parametrize(
    ("entry", "kind"),
    [(entry, kind) for entry, (*_, unseen) in ENTRY_POINTS.items() for kind in MAKE
     if kind not in unseen],
)  # fmt: skip
def test_every_place_says_what_stands_in_a_files_place_in_the_same_words(
    tmp_path, caplog, entry, kind
):
    where, call, said, _ = ENTRY_POINTS[entry]
    path = tmp_path / where
    path.parent.mkdir(parents=True, exist_ok=True)
    MAKE[kind](path)
    shown = "a link" if entry in NOT_FOLLOWED and kind in LINKS else kind
    text = call(tmp_path, path, caplog)
    expected = said.format(p=path, k=shown, r=_reason(shown), pl=_plural(shown))
    assert expected in text, text
    assert "?" not in text


def test_a_regular_file_and_nothing_there_are_no_kind(tmp_path):
    (tmp_path / "file").write_text("")
    (tmp_path / "link").symlink_to("file")
    assert path_kind(tmp_path / "file") is None and path_kind(tmp_path / "link") is None
    assert path_kind(tmp_path / "none") is None and path_kind(tmp_path / "none" / "x") is None
    assert path_kind(tmp_path / "link", follow_links=False) == "a link"


def test_what_stat_cannot_reach_is_said_with_its_reason(tmp_path):
    assert path_kind(tmp_path / ("x" * 300)) == "not readable (File name too long)"
