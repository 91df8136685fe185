"""aegan.io.files: atomic writes (the bytes, the folder, the hidden temporary name, the
cleanup) and strict JSON with the non-finite floats flagged and read back."""

import errno
import json
import math
import os
import re
import resource
import signal
import stat

import pytest
import torch
from unprivileged import failure_unprivileged, reachable_folder

from aegan.errors import ConfigError
from aegan.io.files import atomic_save, atomic_write_bytes, check_folder, fsync_dir, write_json
from aegan.io.readback import read_json


def refuse_constants(name):
    raise AssertionError(f"{name} is not strict JSON")


def test_atomic_write_makes_missing_folders_and_replaces_a_file(tmp_path):
    path = tmp_path / "a" / "b" / "file.bin"
    atomic_write_bytes(path, b"first")
    atomic_write_bytes(path, memoryview(b"second, longer"))  # the folders exist now
    assert path.read_bytes() == b"second, longer"
    assert sorted(p.name for p in path.parent.iterdir()) == ["file.bin"]


def test_a_new_file_has_the_umask_s_mode_and_a_replaced_one_keeps_its_own(tmp_path):
    fresh, kept = tmp_path / "metrics.json", tmp_path / "last.pt"
    atomic_write_bytes(fresh, b"{}")  # as open() makes it: readable beside train.log
    (tmp_path / "train.log").write_text("")
    assert stat.S_IMODE(fresh.stat().st_mode) == stat.S_IMODE(
        (tmp_path / "train.log").stat().st_mode
    )
    kept.write_bytes(b"old")
    kept.chmod(0o640)  # the user's own choice stays
    atomic_write_bytes(kept, b"new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640


def test_the_new_bytes_are_written_to_a_hidden_temporary_file_in_the_same_folder(
    tmp_path, monkeypatch
):
    """At its fsync the data sits in ``.NAME.*.tmp`` next to ``NAME``, which is still old."""
    path = tmp_path / "metrics.json"
    path.write_bytes(b"old")
    seen = []
    real_fsync = os.fsync

    def fsync_and_look(fd):
        real_fsync(fd)
        if not seen:
            seen.append((sorted(p.name for p in tmp_path.iterdir()), path.read_bytes()))

    monkeypatch.setattr(os, "fsync", fsync_and_look)
    atomic_write_bytes(path, b"new")
    (names, bytes_at_fsync), = seen  # fmt: skip
    assert bytes_at_fsync == b"old"
    (temporary,) = [name for name in names if name != "metrics.json"]
    assert temporary.startswith(".metrics.json.") and temporary.endswith(".tmp")
    assert path.read_bytes() == b"new"


def test_a_failed_write_removes_its_temporary_file_and_raises(tmp_path, monkeypatch):
    path = tmp_path / "file.bin"
    path.write_bytes(b"old")

    def interrupted(src, dst):
        raise KeyboardInterrupt  # BaseException too: Ctrl-C between write and rename

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(path, b"new")
    monkeypatch.undo()
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


def test_a_write_the_disk_cuts_short_names_its_file(tmp_path):
    """A full disk (here: a file size limit) fails ``write``, whose error names no file: a
    run's line said only 'No space left on device while writing into RUN_DIR'."""
    path = tmp_path / "metrics.json"
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    on_limit = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not a killed process
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, limits[1]))
    try:
        with pytest.raises(OSError) as caught:
            atomic_write_bytes(path, b"x" * 5000)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, on_limit)
    assert (caught.value.errno, caught.value.filename) == (errno.EFBIG, str(path))
    assert list(tmp_path.iterdir()) == []  # and no temporary file left


def test_atomic_save_round_trips_tensors(tmp_path):
    state = {"w": torch.arange(6.0).view(2, 3), "step": 7}
    atomic_save(state, tmp_path / "x.pt")
    loaded = torch.load(tmp_path / "x.pt", weights_only=True)
    assert torch.equal(loaded["w"], state["w"]) and loaded["step"] == 7


def test_fsync_dir_of_a_missing_folder_is_a_no_op(tmp_path):
    fsync_dir(tmp_path / "missing")  # nothing to make durable, no error
    fsync_dir(tmp_path)


def test_write_json_is_strict_sorted_and_flags_nonfinite_values(tmp_path):
    path = tmp_path / "metrics.json"
    values = {"b": 1.5, "a": float("nan"), "c": float("inf"), "d": float("-inf"), "e": "text"}
    write_json(path, values)
    text = path.read_text()
    assert text.endswith("}\n") and text.startswith('{\n  "_nonfinite"')  # indent 2, sorted
    raw = json.loads(text, parse_constant=refuse_constants)
    assert raw == {
        "a": None, "b": 1.5, "c": None, "d": None, "e": "text",
        "_nonfinite": {"a": "nan", "c": "inf", "d": "-inf"},
    }  # fmt: skip
    assert list(raw) == sorted(raw)
    back = read_json(path)
    assert math.isnan(back.pop("a"))
    assert back == {"b": 1.5, "c": math.inf, "d": -math.inf, "e": "text"}


def test_finite_values_have_no_flags(tmp_path):
    write_json(tmp_path / "m.json", {"x": 0.25, "n": 3, "none": None})
    assert json.loads((tmp_path / "m.json").read_text()) == {"x": 0.25, "n": 3, "none": None}
    assert read_json(tmp_path / "m.json") == {"x": 0.25, "n": 3, "none": None}


def test_read_json_trusts_only_well_formed_flags(tmp_path):
    """A flag turns a null back into a float only when the value is null and the name known."""
    path = tmp_path / "m.json"
    path.write_text(
        json.dumps({"a": None, "b": 2.0, "c": None, "_nonfinite": {"a": "-inf", "b": "nan",
                                                                     "c": "huge"}})
    )  # fmt: skip
    assert read_json(path) == {"a": -math.inf, "b": 2.0, "c": None}
    path.write_text(json.dumps({"a": None, "_nonfinite": ["a"]}))
    assert read_json(path) == {"a": None}


def test_read_json_reads_the_nan_literals_of_older_runs(tmp_path):
    """metrics.json before the _nonfinite flags: Python's NaN and Infinity literals."""
    (tmp_path / "m.json").write_text('{"a": NaN, "b": -Infinity, "c": 1}')
    values = read_json(tmp_path / "m.json")
    assert math.isnan(values["a"]) and values["b"] == -math.inf and values["c"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"[1, 2]", "not a JSON object"), (b"{broken", "not readable as JSON"),
     (b"\xff\xfe", "not readable as JSON"), (None, "not readable as JSON"),
     (b"[" * 100_000, "nested deeper than 32"), (b'{"a": ' * 100_000, "nested deeper than 32"),
     (b'{"a":' + b"[" * 40 + b"]" * 40 + b"}", "nested deeper than 32"),
     (b"3", "not a JSON object"), (b'{"a": 1e400}', "1e400 is beyond a float"),
     (b'{"a": -' + b"9" * 5000 + b"}", "is beyond a float"),
     (b'{"test/mse": 0.5, "test/mse": 0.01}', "the key 'test/mse' is given twice"),
     (b'{"a": {"b": 1, "b": 2}}', "the key 'b' is given twice"),  # json keeps the last
     ("folder", "a folder, not a regular file"), ("huge", "over the 8388608 allowed"),
     ("fifo", "a FIFO, not a regular file")],
)  # fmt: skip
def test_read_json_names_the_file_it_cannot_use(tmp_path, content, message):
    path = tmp_path / "metrics.json"
    if content == "folder":
        path.mkdir()
    elif content == "huge":  # sparse: refused by its size, never read
        with path.open("wb") as handle:
            handle.truncate(70 * 2**20)
    elif content == "fifo":  # nothing will ever write to it: opening it must not wait
        os.mkfifo(path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as caught:
        read_json(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_nested_nonfinite_value_is_refused_rather_than_written_as_nan(tmp_path):
    """Only top-level floats are flagged; anything deeper would not be strict JSON."""
    path = tmp_path / "metrics.json"
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        write_json(path, {"per_class": [0.5, float("nan")]})
    assert not path.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [("", "it must be a folder path"), (None, "it must be a folder path"),
     ("a\x00b", "it must be a folder path without control characters"),
     ("x" * 5000, "it cannot be a folder (File name too long)")],
)  # fmt: skip
def test_a_folder_setting_that_cannot_be_one_is_one_line(value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_folder("paths.log_dir", value)


def test_a_folder_under_one_this_user_may_not_search_names_that_one():
    """A home this user may not enter (HOME=/root under another user) was 'it cannot be a
    folder (Permission denied)' for ~/.cache/aegan, naming neither the folder nor a way on."""
    with reachable_folder() as base:
        (base / "home").mkdir()
        (base / "home").chmod(0o700)  # root's own: the unprivileged check may not enter it
        value = str(base / "home" / ".cache" / "aegan")
        failure = failure_unprivileged(lambda: check_folder("evaluate.cache_dir", value))
    assert failure == (
        f"ConfigError: evaluate.cache_dir={value!r} is not allowed: {base / 'home'} cannot be "
        "searched by this user (Permission denied); choose a folder it may write in"
    )
