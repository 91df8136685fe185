"""Where a run read back finds its data: the reader's folders and the reader's leave to go
online, never the record's. A record naming a folder (``paths.data_dir``) and a data set to
fetch has nothing written there and nothing downloaded; the folder is only looked in."""

from __future__ import annotations

import copy
import logging
import shutil
from pathlib import Path

import pytest
import torch
from hostile_runs import TINY_IDX, tiny_idx_folder
from omegaconf import OmegaConf

import aegan.data.sources
from aegan import load_run
from aegan.engine.state import Progress, checkpoint_state
from aegan.errors import DataNotFoundError
from aegan.io.files import atomic_save
from aegan.train import train
from conftest import assert_one_error_line, built, compose_config, synthetic_data


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


@pytest.mark.parametrize("made", [False, True])
def test_a_download_asked_for_goes_into_no_folder_a_record_names(tmp_path, monkeypatch, made):
    """A cifar10 run's record naming a folder without the batches: the reader's
    data.download=true downloaded into it, and made it where it was not there."""
    import torchvision.datasets.utils

    fetched: list[str] = []
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive",
                        lambda url, folder, **kw: fetched.append(folder) or 1 / 0)  # fmt: skip
    monkeypatch.setenv("AEGAN_DATA_DIR", str(tmp_path / "mine"))
    elsewhere = tmp_path / "elsewhere"
    if made:
        elsewhere.mkdir()
    cfg, task, amp, _ = built(["data=cifar10", f"data.root={elsewhere}"], tmp_path,
                              data=synthetic_data(shape=(3, 32, 32)))  # fmt: skip
    record = {"config": OmegaConf.to_container(cfg, resolve=True),
              "choices": {"model": "autoencoder", "data": "cifar10"}}  # fmt: skip
    state = {"format_version": 2, **checkpoint_state(task, amp, Progress(), record)}
    atomic_save(state, tmp_path / "run" / "checkpoints" / "last.pt")
    with pytest.raises(DataNotFoundError, match="the download was tried"):  # no network here
        load_run(tmp_path / "run", overrides=["data.download=true"])
    assert fetched == [str(tmp_path / "mine")]
    assert not any(elsewhere.iterdir()) if made else not elsewhere.exists()


def test_a_named_set_not_where_the_record_says_is_found_in_the_readers_folder(
    trained, fetches, tmp_path, caplog
):
    """A run trained on another machine: its data.root there is no folder here, and the
    reader's own copy was refused for it."""
    mine = tmp_path / "mine" / "MNIST" / "raw"
    shutil.copytree(trained[0], mine)
    run = run_of_mnist(trained, tmp_path / "run", tmp_path / "gone")
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    state["config"]["data"]["root"] = str(tmp_path / "elsewhere")
    atomic_save(state, run / "checkpoints" / "last.pt")
    with caplog.at_level(logging.WARNING, logger="aegan.run"):
        loaded = load_run(run)
    assert loaded.data.source == str(mine) and loaded.config.data.root is None
    assert (
        f"its record's data.root={tmp_path / 'elsewhere'} holds no mnist here: it is "
        "looked for in your folders instead" in caplog.text
    )
    assert "not those the run trained on" not in caplog.text and fetches == []
