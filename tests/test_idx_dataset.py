"""An IDX data set whose headers are sound but whose contents cannot be the data set: one
line naming the folder before training, not a traceback after it or wrong figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from aegan.data import load_data
from aegan.data.sources import load_idx_dataset
from aegan.errors import ConfigError, DataFileError

FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
         "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}  # fmt: skip
TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">f4"): 0x0D}


def write(path: Path, array: np.ndarray) -> None:
    code = TYPE_CODES[array.dtype]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    path.write_bytes(header + array.tobytes())


def folder_with(tmp_path: Path, **changed: np.ndarray) -> Path:
    """Four IDX files of random images (64 to train on, 16 to test), some replaced."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (64, 28, 28)).astype(np.uint8),
        "train_labels": rng.integers(0, 10, 64).astype(np.uint8),
        "test_images": rng.integers(0, 256, (16, 28, 28)).astype(np.uint8),
        "test_labels": rng.integers(0, 10, 16).astype(np.uint8),
    }
    for key, array in {**arrays, **changed}.items():
        write(tmp_path / FILES[key], array)
    return tmp_path


CONTENTS = [
    ({"test_images": np.zeros((16, 32, 32), np.uint8)}, "differ in size"),
    ({"train_images": np.zeros((64, 20, 20), np.uint8),
      "test_images": np.zeros((16, 20, 20), np.uint8)},
     "its images are 20x20 pixels, and Fashion-MNIST's are 28x28 (data=fashion_mnist's "
     "settings are checked for that size before its files are read)"),
    ({"train_labels": np.full(64, 175, np.uint8)}, "labels run from 175 to 175"),
    ({"train_labels": np.full(64, -3, np.int8)}, "labels run from -3 to -3"),
    ({"test_images": np.full((16, 28, 28), 0.5, ">f4")}, "are torch.float32, not bytes"),
    # labels of the classes' numbers, stored as floats: were "run from 3.0 to 3.0; ... 0-9"
    ({"train_labels": np.full(64, 3.0, ">f4")}, "train labels are torch.float32, not integers"),
    ({"test_images": np.zeros((0, 28, 28), np.uint8), "test_labels": np.zeros(0, np.uint8)},
     "N >= 1"),
]  # fmt: skip


@pytest.mark.parametrize(("changed", "message"), CONTENTS)
def test_contents_that_cannot_be_the_data_set_are_one_line(tmp_path, changed, message):
    folder = folder_with(tmp_path, **changed)
    with pytest.raises(DataFileError) as refused:
        load_idx_dataset("fashion_mnist", root=str(folder), data_dir=tmp_path, download=False,
                         val_size=8, split_seed=0)  # fmt: skip
    assert str(refused.value).startswith(f"{folder}: ") and message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_sound_contents_load(tmp_path):
    data = load_idx_dataset("fashion_mnist", root=str(folder_with(tmp_path)), data_dir=tmp_path,
                            download=False, val_size=8, split_seed=0)  # fmt: skip
    assert data.train_images.shape == (56, 1, 28, 28) and len(data.test_labels) == 16


def test_a_subset_larger_than_the_folder_holds_is_one_line(tmp_path):
    """data.root may hold fewer images than the named data set: the check is on what was read."""
    data_cfg = OmegaConf.create({"name": "fashion_mnist", "root": str(folder_with(tmp_path)),
                                 "download": False, "val_size": 8, "split_seed": 0, "subset": 57})  # fmt: skip
    with pytest.raises(ConfigError, match=r"^data.subset=57 is more than the 56 training images"):
        load_data(data_cfg, data_dir=tmp_path)
    data_cfg.subset = 56
    assert len(load_data(data_cfg, data_dir=tmp_path).train_images) == 56
