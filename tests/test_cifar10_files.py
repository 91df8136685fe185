"""CIFAR-10 from a local cifar-10-batches-py folder: its batches are pickles, so files that
are not the published ones (cut, changed, a pickle naming code) must be refused in one line,
before the run's folder is made, and run no code."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from aegan.data.cifar import BATCHES, FILES, PIXELS, read_cifar10
from aegan.errors import DataFileError
from conftest import Touch, assert_one_error_line

RUN = ["data=cifar10", "model=dcgan", "trainer.device=cpu", "trainer.epochs=1", "logger=none"]


@pytest.mark.parametrize("damage", ["code", "cut"])
def test_batches_that_are_not_the_published_ones_are_refused_before_the_folder(
    cli, tmp_path, damage
):
    """Read only after Hydra made the run's folder, they left one behind; a batch naming
    code is never unpickled (its checksum is checked first), so nothing is touched."""
    folder, touched = tmp_path / "cifar" / BATCHES, tmp_path / "touched"
    folder.mkdir(parents=True)
    for name in FILES:
        (folder / name).write_bytes(b"\x80\x04" + bytes(100))
    if damage == "code":
        (folder / "data_batch_1").write_bytes(pickle.dumps(Touch(touched)))
    run = tmp_path / "run"
    result = cli("aegan.train", *RUN, f"data.root={folder.parent}", f"hydra.run.dir={run}")
    assert_one_error_line(result, f"cifar10 files in {folder} are not the published batches")
    assert not run.exists()
    assert not touched.exists()


def write_batches(folder, count=4, names_code=None):
    """Batches in the published layout (numpy arrays pickled with protocol 2, as CIFAR-10's
    own are), and their MD5s: a checksum table they pass."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, name in enumerate(FILES):
        if name == "batches.meta":
            entry = {"label_names": [f"class{c}" for c in range(10)], "num_vis": PIXELS}
        else:
            data = rng.integers(0, 256, (count, PIXELS), dtype=np.uint8)
            entry = {"data": data, "labels": [(i + j) % 10 for j in range(count)]}
        content = names_code if name == "data_batch_2" and names_code else entry
        (folder / name).write_bytes(pickle.dumps(content, protocol=2))
    return {name: hashlib.md5((folder / name).read_bytes()).hexdigest() for name in FILES}


def test_batches_read_as_torchvision_reads_them(tmp_path):
    folder = tmp_path / BATCHES
    checksums = write_batches(folder)
    train_x, train_y, test_x, test_y, classes = read_cifar10(folder, checksums)
    assert train_x.shape == (20, 3, 32, 32) and test_x.shape == (4, 3, 32, 32)
    assert train_x.dtype == torch.uint8 and train_y.tolist()[:5] == [0, 1, 2, 3, 1]
    assert test_y.tolist() == [5, 6, 7, 8] and classes[9] == "class9"
    first = pickle.loads((folder / "data_batch_1").read_bytes())["data"]
    assert torch.equal(train_x[:4], torch.from_numpy(first.reshape(4, 3, 32, 32)))


def test_a_batch_naming_code_runs_nothing_even_where_its_checksum_is_the_expected_one(tmp_path):
    """The MD5 is checked on the bytes that are unpickled, and the unpickler knows only
    numpy's arrays: a batch swapped after a check, or a checksum table that lets one by,
    still runs no code."""
    folder, touched = tmp_path / BATCHES, tmp_path / "touched"
    checksums = write_batches(folder, names_code=Touch(touched))
    with pytest.raises(
        DataFileError, match=r"data_batch_2: UnpicklingError: it names __builtin__.getattr"
    ):
        read_cifar10(folder, checksums)
    assert not touched.exists()


@pytest.mark.parametrize("labels", [[0, 1, 2, 10], [0, 1, 2, "3"], [0, 1, 2]])
def test_batches_of_another_shape_are_one_line(tmp_path, labels):
    folder = tmp_path / BATCHES
    write_batches(folder)
    data = np.zeros((4, PIXELS), np.uint8)
    (folder / "test_batch").write_bytes(pickle.dumps({"data": data, "labels": labels}, 2))
    checksums = {name: hashlib.md5((folder / name).read_bytes()).hexdigest() for name in FILES}
    with pytest.raises(DataFileError, match="test_batch holds no data and labels of CIFAR-10"):
        read_cifar10(folder, checksums)


@pytest.mark.parametrize(
    "names", [list(range(10)), [["nested"]] * 10, ["a\nb"] + ["b"] * 9, ["x" * 10**6] * 10]
)
def test_class_names_that_are_no_short_text_are_refused(tmp_path, names):
    """They were taken as they were: numbers, lists (a pickle can share one list many times
    over, gigabytes once printed), a line break that split every message, a megabyte."""
    folder = tmp_path / BATCHES
    write_batches(folder)
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names}, 2))
    checksums = {name: hashlib.md5((folder / name).read_bytes()).hexdigest() for name in FILES}
    with pytest.raises(DataFileError, match="batches.meta names no 10 label_names"):
        read_cifar10(folder, checksums)


class EncodedWith:
    """Pickles (protocol 2) as a call of _codecs.encode with ``codec``."""

    def __init__(self, codec: str) -> None:
        self.codec = codec

    def __reduce__(self):
        import _codecs

        return _codecs.encode, ("x" * 100, self.codec)


@pytest.mark.parametrize("codec", ["idna", "rot13", "zlib_codec"])
def test_bytes_are_decoded_as_latin1_only(tmp_path, codec):
    """_codecs.encode, which protocol 2 pickles name for bytes, ran any codec the file
    named (importing its module from the encodings package)."""
    folder = tmp_path / BATCHES
    checksums = write_batches(folder, names_code={"data": EncodedWith(codec), "labels": []})
    with pytest.raises(
        DataFileError, match=f"data_batch_2: UnpicklingError: it encodes with '{codec}', not latin1"
    ):
        read_cifar10(folder, checksums)


def make_in_place(path, kind):
    if kind == "a FIFO, not a regular file":
        os.mkfifo(path)
    elif kind == "a folder, not a regular file":
        path.mkdir()
    elif kind == "a link to nothing":
        path.symlink_to(path.parent / "gone")
    elif kind == "a loop of links":
        path.symlink_to(path)
    else:
        path.symlink_to("/dev/zero")


@pytest.mark.parametrize(
    "kind",
    ["a FIFO, not a regular file", "a folder, not a regular file", "a link to nothing",
     "a loop of links", "a device, not a regular file"],
)  # fmt: skip
def test_a_batch_that_is_no_regular_file_is_named_not_downloaded_over(cli, tmp_path, kind):
    """Each was taken for a missing file: a download was tried over the user's folder
    (writing through the link, or waiting on the FIFO), and without a network the line
    said the data was not found, naming no file."""
    folder = tmp_path / "cifar" / BATCHES
    write_batches(folder)
    (folder / "data_batch_3").unlink()
    make_in_place(folder / "data_batch_3", kind)
    run = tmp_path / "run"
    result = cli("aegan.train", *RUN, f"data.root={folder.parent}", f"hydra.run.dir={run}")
    assert_one_error_line(
        result, f"cifar10 files in {folder} are not the published batches (data_batch_3 is {kind})"
    )
    assert not run.exists() and not (tmp_path / "gone").exists()


def test_a_root_at_the_batches_themselves_names_the_folder_above(cli, tmp_path):
    """data.root=.../cifar-10-batches-py (a common slip) was taken for a folder without
    the batches: a download into it was tried, a second copy inside the first."""
    folder = tmp_path / "cifar" / BATCHES
    write_batches(folder)
    run = tmp_path / "run"
    result = cli("aegan.train", *RUN, f"data.root={folder}", f"hydra.run.dir={run}")
    assert_one_error_line(
        result,
        f"data.root={folder} holds the batches themselves (data_batch_1); it must be the "
        f"folder that holds {BATCHES}: data.root={folder.parent}",
    )
    assert not run.exists() and not (folder / BATCHES).exists()


def test_a_failed_download_leaves_no_folder_or_part_of_its_archive(cli, tmp_path, monkeypatch):
    """The download made data.root's folders and began the archive before it failed (no
    network): an empty folder, or a part of the archive, was left where none was. The
    line named the download's failure alone, not the file that was missing."""

    def cut_off(url, root, filename, md5):  # as torchvision's: folders, a part, a failure
        Path(root).mkdir(parents=True, exist_ok=True)
        (Path(root) / filename).write_bytes(b"\x1f\x8b part")
        raise RuntimeError("<urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr("torchvision.datasets.utils.download_and_extract_archive", cut_off)
    root, run = tmp_path / "new" / "cifar", tmp_path / "run"
    result = cli("aegan.train", *RUN, f"data.root={root}", f"hydra.run.dir={run}")
    assert_one_error_line(
        result,
        f"cifar10 data not found in {root} ({BATCHES}/data_batch_1 is missing; the download: "
        "RuntimeError: <urlopen",
    )
    assert sorted(tmp_path.iterdir()) == []


def test_a_folder_missing_one_batch_is_not_downloaded_over(cli, tmp_path, monkeypatch):
    """The archive's extraction wrote every batch again over the user's six."""
    folder = tmp_path / "cifar" / BATCHES
    write_batches(folder)
    (folder / "data_batch_3").unlink()
    kept = {path.name: path.read_bytes() for path in folder.iterdir()}

    def overwrite(url, root, filename, md5):  # as the extraction would
        for name in FILES:
            (Path(root) / BATCHES / name).write_bytes(b"downloaded")

    monkeypatch.setattr("torchvision.datasets.utils.download_and_extract_archive", overwrite)
    run = tmp_path / "run"
    result = cli("aegan.train", *RUN, f"data.root={folder.parent}", f"hydra.run.dir={run}")
    assert_one_error_line(
        result, f"cifar10 files in {folder} are incomplete (data_batch_3 is missing, 6 of 7 there)"
    )
    assert not run.exists()
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == kept
