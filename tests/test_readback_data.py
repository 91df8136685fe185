"""Where a run read back finds its data: the reader's folders and the reader's leave to go
online, never the record's. A record naming a folder (``paths.data_dir``) and a data set to
fetch has nothing written there and nothing downloaded; the folder is only looked in."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import torch
from hostile_runs import TINY_IDX, tiny_idx_folder

import aegan.data.sources
from aegan import load_run
from aegan.errors import DataNotFoundError
from aegan.files import atomic_save
from aegan.train import train
from conftest import assert_one_error_line, compose_config


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict]:
    """The IDX files of a tiny run, and its last checkpoint's state."""
    root = tmp_path_factory.mktemp("readback-data")
    idx = tiny_idx_folder(root / "idx")
    train(compose_config([*TINY_IDX, f"data.root={idx}", "evaluate.at_end=false"], root / "run"))
    return idx, torch.load(root / "run" / "checkpoints" / "last.pt", weights_only=True)


@pytest.fixture
def fetches(monkeypatch, tmp_path) -> list[str]:
    """What was installed or downloaded, and where; the reader's own data folder is
    ``tmp_path/mine``, set as a user sets it."""
    done: list[str] = []
    monkeypatch.setattr(aegan.data.sources, "_try_apt_install", lambda p: done.append(p) or "no")
    monkeypatch.setattr(aegan.data.sources, "_try_torchvision_download",
                        lambda name, folder: done.append(str(folder)) or "no")  # fmt: skip
    monkeypatch.setenv("AEGAN_DATA_DIR", str(tmp_path / "mine"))
    return done


def run_of_mnist(trained, folder: Path, data_dir: Path) -> Path:
    """A run whose record says: MNIST, found or fetched in ``data_dir``."""
    state = copy.deepcopy(trained[1])
    state["choices"]["data"] = "mnist"
    state["config"]["data"].update(name="mnist", root=None, download=True)
    state["config"]["paths"]["data_dir"] = str(data_dir)
    atomic_save(state, folder / "checkpoints" / "last.pt")
    return folder


def test_a_record_neither_downloads_nor_writes_where_it_says(trained, fetches, tmp_path, cli):
    elsewhere = tmp_path / "elsewhere"
    run = run_of_mnist(trained, tmp_path / "run", elsewhere)
    with pytest.raises(DataNotFoundError, match="unless its overrides set data.download=true"):
        load_run(run)
    result = cli("aegan.evaluate", f"run={run}", "metrics=[reconstruction]")
    assert_one_error_line(result, "reading a run back downloads nothing unless")
    assert fetches == [] and not elsewhere.exists() and not (tmp_path / "mine").exists()


def test_a_download_asked_for_goes_into_the_readers_folder(trained, fetches, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    run = run_of_mnist(trained, tmp_path / "run", elsewhere)
    with pytest.raises(DataNotFoundError):  # the network is not reached from the tests
        load_run(run, overrides=["data.download=true"])
    assert fetches == [str(tmp_path / "mine")] and not elsewhere.exists()


def test_the_data_where_the_run_read_it_is_found_and_left_alone(trained, fetches, tmp_path):
    recorded = tmp_path / "recorded"
    shutil.copytree(trained[0], recorded / "MNIST" / "raw")
    before = sorted(recorded.rglob("*"))
    run = load_run(run_of_mnist(trained, tmp_path / "run", recorded))
    assert run.data.source == str(recorded / "MNIST" / "raw")
    assert run.config.paths.data_dir == str(tmp_path / "mine") and not run.config.data.download
    assert sorted(recorded.rglob("*")) == before and fetches == []
