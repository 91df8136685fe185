"""The image folder a run read back is listed from: the one its record names is listed
within ``aegan.runs.data.RECORD_ENTRIES`` files and folders (a record naming ``/`` had the
whole disk walked), the one the reader names as far as it goes."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from test_split_limits import folder_run, image_folder

import aegan.runs.data
from aegan import load_run
from aegan.errors import CheckpointError, DataNotFoundError
from aegan.io.files import atomic_save
from aegan.train import train
from conftest import assert_one_error_line, compose_config

ENTRIES = 40  # more than the run's own folder holds: 2 class folders of 10 images
MANY = "many"  # a folder of more entries than that, without an image among them


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict]:
    """A tiny run of an image folder, and its last checkpoint's state."""
    root = tmp_path_factory.mktemp("readback-folder")
    images = image_folder(root / "images", classes=2)
    overrides = folder_run(images, "data.val_size=4", "data.test_size=4", "data.batch_size=8",
                           "logger.enabled=false",
                           "evaluate.at_end=false")  # fmt: skip
    train(compose_config(overrides, root / "run"))
    many = root / MANY
    for i in range(ENTRIES + 10):
        (many / f"{i:03d}").mkdir(parents=True)
    return root, torch.load(root / "run" / "checkpoints" / "last.pt", weights_only=True)


@pytest.fixture(autouse=True)
def few_entries(monkeypatch):
    monkeypatch.setattr(aegan.runs.data, "RECORD_ENTRIES", ENTRIES)


def recording(trained, folder: Path, root: Path) -> Path:
    """A copy of the run whose record names ``root`` as its data.root."""
    state = copy.deepcopy(trained[1])
    state["config"]["data"]["root"] = str(root)
    atomic_save(state, folder / "checkpoints" / "last.pt")
    return folder


def test_the_folder_a_record_names_is_listed_within_a_bound(trained, tmp_path, cli):
    many = trained[0] / MANY
    run = recording(trained, tmp_path / "run", many)
    with pytest.raises(CheckpointError) as caught:
        load_run(run)
    line = str(caught.value)
    assert line.startswith(f"{run / 'checkpoints' / 'last.pt'}: its record's data.root={many} "
                           f"holds more than {ENTRIES} files and folders")  # fmt: skip
    assert "name it yourself: overrides=['data.root=...']" in line
    result = cli("aegan.evaluate", f"run={run}", "metrics=[reconstruction]")
    assert_one_error_line(result, f"its record's data.root={many} holds more than {ENTRIES}")
    # named by the reader, a folder is listed as far as it goes: this one holds no image
    with pytest.raises(DataNotFoundError, match="no images found under data.root="):
        load_run(run, overrides=[f"data.root={many}"])
    images = load_run(run, overrides=[f"data.root={trained[0] / 'images'}"])
    assert images.data.classes == ("c0", "c1")
    # the run's own folder, within the bound, is read back from its record
    own = load_run(trained[0] / "run")
    assert own.data.source == str(trained[0] / "images") and own.data.classes == ("c0", "c1")


def test_an_image_folder_not_where_the_record_says_is_asked_of_the_reader(trained, tmp_path):
    """It was "data.root=... does not exist; pass a folder", without saying how."""
    run = recording(trained, tmp_path / "run", tmp_path / "gone")
    line = str(pytest.raises(CheckpointError, load_run, run).value)
    assert line == (f"{run / 'checkpoints' / 'last.pt'}: its record's data.root={tmp_path / 'gone'} "
                    "is not a folder here; name the folder holding the run's images: "
                    "overrides=['data.root=DIR']")  # fmt: skip
    assert load_run(run, overrides=[f"data.root={trained[0] / 'images'}"]).data.classes


def test_a_folder_the_record_names_that_is_no_data_set_names_the_record(trained, tmp_path):
    """It was the listing's line alone ("no images found under data.root=..."), as if the
    reader had named the folder."""
    empty = tmp_path / "empty"
    (empty / "a").mkdir(parents=True)
    run = recording(trained, tmp_path / "run", empty)
    line = str(pytest.raises(CheckpointError, load_run, run).value)
    assert line.startswith(f"{run / 'checkpoints' / 'last.pt'}: the folder its record names: no "
                           f"images found under data.root={empty}")  # fmt: skip
    assert line.endswith("; to read another, name it: overrides=['data.root=DIR']")
