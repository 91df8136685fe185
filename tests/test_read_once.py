"""The files in data.root are read before the run's folder is made, once: a damaged one is
refused with no folder left behind, and the run takes the images as they were read."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image
from test_idx_dataset import FILES, folder_with
from test_split_limits import folder_run, image_folder

import aegan.data.image_folder
from aegan.data import load_data, read_ahead
from aegan.data.read_once import forget_reads
from conftest import assert_one_error_line


@pytest.fixture(autouse=True)
def nothing_held():
    forget_reads()
    yield
    forget_reads()


def test_a_damaged_image_is_refused_before_the_runs_folder(cli, tmp_path):
    """It was refused once the run's folder, its record and a failed.json, had been made."""
    root = image_folder(tmp_path / "images", classes=2, per_class=30)
    (root / "c1" / "damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    result = cli("aegan.train", *folder_run(root), f"hydra.run.dir={tmp_path}/run")
    assert_one_error_line(result, f"{root}/c1/damaged.png: unreadable image")
    assert not (tmp_path / "run").exists()


def test_a_truncated_idx_file_in_data_root_is_refused_before_the_runs_folder(cli, tmp_path):
    (tmp_path / "idx").mkdir()
    folder = folder_with(tmp_path / "idx")
    path = folder / FILES["test_images"]
    path.write_bytes(path.read_bytes()[:-100])
    result = cli("aegan.train", "data.root=" + str(folder), "data.val_size=8",
                 "data.batch_size=8", "trainer.epochs=1", "trainer.device=cpu",
                 f"hydra.run.dir={tmp_path}/run")  # fmt: skip
    assert_one_error_line(result, f"{path}: IDX header says shape (16, 28, 28)")
    assert not (tmp_path / "run").exists()


def test_a_truncated_idx_file_found_in_paths_data_dir_is_refused_before_the_runs_folder(
    cli, tmp_path
):
    """Only data.root's files were read ahead: those a named set is found in without it
    (paths.data_dir, the Debian package's folder) were read once the folder was made."""
    (tmp_path / "data" / "MNIST" / "raw").mkdir(parents=True)
    folder = folder_with(tmp_path / "data" / "MNIST" / "raw")
    path = folder / FILES["test_images"]
    path.write_bytes(path.read_bytes()[:-100])
    result = cli("aegan.train", "data=mnist", f"paths.data_dir={tmp_path / 'data'}",
                 "data.val_size=8", "data.batch_size=8", "trainer.epochs=1",
                 "trainer.device=cpu", f"hydra.run.dir={tmp_path}/run")  # fmt: skip
    assert_one_error_line(result, f"{path}: IDX header says shape (16, 28, 28)")
    assert not (tmp_path / "run").exists()


def test_a_subset_beyond_the_idx_files_in_data_root_is_refused_before_the_folder(cli, tmp_path):
    (tmp_path / "idx").mkdir()
    folder = folder_with(tmp_path / "idx")
    result = cli("aegan.train", "data.root=" + str(folder), "data.val_size=8", "data.subset=57",
                 "data.batch_size=8", "trainer.epochs=1", "trainer.device=cpu",
                 f"hydra.run.dir={tmp_path}/run")  # fmt: skip
    assert_one_error_line(result, "data.subset=57 is more than the 56 training images")
    assert not (tmp_path / "run").exists()


def test_a_run_decodes_each_image_once_and_logs_the_read(cli, tmp_path, monkeypatch):
    """The check before the folder and the run's own read each decoded every image."""
    root = image_folder(tmp_path / "images", classes=2, per_class=30)
    (root / "c0" / "notes.txt").write_text("not an image")
    decoded = []
    real = aegan.data.image_folder._decoded

    def counted(path, *args):
        decoded.append(path)
        return real(path, *args)

    monkeypatch.setattr(aegan.data.image_folder, "_decoded", counted)
    run = tmp_path / "run"
    result = cli("aegan.train", *folder_run(root, "evaluate.at_end=false", "logger.enabled=false"),
                 f"hydra.run.dir={run}")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(decoded) == len(set(decoded)) == 60
    log = (run / "train.log").read_text()
    assert f"data.root={root}: 60 images (RGB 60) read as data.channels=3" in log
    assert "passed over 1 entries (.txt files 1)" in log  # said once, in the run's log
    assert result.stdout.count("passed over 1 entries") == 1
    assert "passed over" not in result.stderr


def test_an_image_changed_after_the_check_is_read_again(tmp_path):
    root = image_folder(tmp_path / "images", classes=1, per_class=12)
    data_cfg = OmegaConf.create({"name": "image_folder", "root": str(root), "image_size": 16,
                                 "channels": 3, "val_size": 2, "test_size": 2, "split_seed": 0,
                                 "subset": None, "batch_size": 4})  # fmt: skip
    assert read_ahead(data_cfg) == 8
    first = load_data(data_cfg, data_dir=tmp_path)
    for path in root.glob("*.png"):  # the same names and sizes, other pixels
        Image.fromarray(np.full((16, 16, 3), 7, np.uint8)).save(path)
    again = load_data(data_cfg, data_dir=tmp_path)
    assert not first.train_images.eq(7).all() and again.train_images.eq(7).all()


def test_the_run_takes_a_copy_it_may_change(tmp_path):
    """data.subset and data.binarize set the splits of what load_data returns: the read
    held for the next job of a sweep keeps its own."""
    root = image_folder(tmp_path / "images", classes=1, per_class=12)
    data_cfg = OmegaConf.create({"name": "image_folder", "root": str(root), "image_size": 16,
                                 "channels": 1, "val_size": 2, "test_size": 2, "split_seed": 0,
                                 "subset": 3, "batch_size": 2, "binarize": "fixed"})  # fmt: skip
    read_ahead(data_cfg)
    assert len(load_data(data_cfg, data_dir=tmp_path).train_images) == 3
    data_cfg.subset, data_cfg.binarize = None, "none"
    full = load_data(data_cfg, data_dir=tmp_path)
    assert len(full.train_images) == 8 and not full.binarized
    assert not np.isin(full.train_images.numpy(), (0, 255)).all()
