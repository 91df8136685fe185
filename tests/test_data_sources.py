"""Data that is not there, that fails to download or holds an unreadable image: one line naming
what was searched or read; an image folder read by its classes."""

import pytest
import torch

from aegan.errors import DataFileError
from aegan.train import train
from conftest import TINY_AE


def test_missing_data_names_every_path_searched(make_cfg, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    from aegan.data import DataNotFoundError

    cfg = make_cfg(*TINY_AE, "data=mnist", "data.download=false")
    cfg.paths.data_dir = str(empty)
    with pytest.raises(DataNotFoundError) as info:
        train(cfg)
    message = str(info.value)
    assert f"looked in {empty / 'MNIST' / 'raw'}" in message
    assert "data.root=FOLDER" in message and "\n" not in message


@pytest.mark.parametrize(("data", "fetcher"), [
    ("mnist", "torchvision.datasets.MNIST"),
    ("cifar10", "torchvision.datasets.utils.download_and_extract_archive"),
])  # fmt: skip
def test_a_failed_download_is_one_line(data, fetcher, make_cfg, tmp_path, monkeypatch):
    from aegan.data import DataNotFoundError

    def offline(*args, **kwargs):  # what torchvision raises without a network: 3+ lines
        raise RuntimeError(
            "Error downloading train-images-idx3-ubyte.gz:\nTried https://mirror/, got:\n"
            "<urlopen error [Errno -2] Name or service not known>\n"
        )

    monkeypatch.setattr(fetcher, offline)
    empty = tmp_path / "empty"
    empty.mkdir()
    cfg = make_cfg(*TINY_AE, f"data={data}", "data.download=true")
    cfg.paths.data_dir = str(empty)  # where the download goes
    with pytest.raises(DataNotFoundError) as info:
        train(cfg)
    message = str(info.value)
    assert "\n" not in message and "Name or service not known>" in message
    assert "data.root=FOLDER" in message


def test_unreadable_image_in_a_folder_is_named(make_cfg, tmp_path):
    from PIL import Image

    folder = tmp_path / "images" / "cats"
    folder.mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (8, 8)).save(folder / f"ok{i}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    cfg = make_cfg(*TINY_AE, "data=image_folder", f"data.root={tmp_path / 'images'}",
                   "data.subset=null", "data.val_size=1", "data.test_size=1", "data.channels=1",
                   "data.image_size=28", "data.batch_size=2")  # fmt: skip
    with pytest.raises(DataFileError, match=r"broken.png: unreadable image"):
        train(cfg)


def test_image_folder_reads_classes_and_resizes(tmp_path):
    from omegaconf import OmegaConf
    from PIL import Image

    from aegan.data import load_data

    for name, colour in (("cats", 40), ("dogs", 200)):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        for i in range(5):
            Image.new("RGB", (30, 20), (colour, colour, colour)).save(
                tmp_path / "imgs" / name / f"{i}.jpg"
            )
    data_cfg = OmegaConf.create(dict(name="image_folder", root=str(tmp_path / "imgs"), image_size=16, channels=1,
                                     val_size=2, test_size=2, split_seed=0, subset=None, download=False))  # fmt: skip
    data = load_data(data_cfg, data_dir=tmp_path)
    assert data.classes == ("cats", "dogs")
    assert data.train_images.shape == (6, 1, 16, 16) and data.train_images.dtype == torch.uint8
    assert len(data.val_images) == len(data.test_images) == 2
