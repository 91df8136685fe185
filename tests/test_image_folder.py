"""``data=image_folder``: what an image file holds is what the model sees."""

from __future__ import annotations

import concurrent.futures
import os

import numpy as np
from PIL import Image

from aegan.data.image_folder import load_image_folder


def test_sixteen_bit_grey_images_keep_their_levels(tmp_path):
    """PIL's convert clipped 16-bit levels to 255: every image came out white."""
    (tmp_path / "a").mkdir()
    for i in range(12):
        levels = np.full((8, 8), 32768 + 256 * i, np.uint16)  # a 16-bit PNG: PIL's I;16
        Image.fromarray(levels).save(tmp_path / "a" / f"{i}.png")
    data = load_image_folder(root=str(tmp_path), image_size=8, channels=1, val_size=2,
                             split_seed=0, test_size=2)  # fmt: skip
    seen = {int(x) for x in data.train_images.flatten()}
    assert len(seen) == 8 and seen <= set(range(128, 140)), sorted(seen)


def test_dark_sixteen_bit_images_stay_dark_and_eight_bit_values_in_32_bits_stay(tmp_path):
    """A 16-bit image whose levels all lay below 256 (nearly black) was read as 8-bit: 255
    came out white, where 256 beside it came out black."""
    (tmp_path / "a").mkdir()
    for i in range(12):
        dark = np.full((8, 8), 250 + i, np.uint16)  # I;16, all below or just above 256
        Image.fromarray(dark).save(tmp_path / "a" / f"{i}.png")
        Image.fromarray(np.full((8, 8), 100 + i, np.int32)).save(tmp_path / "a" / f"{i}.tif")
    data = load_image_folder(root=str(tmp_path), image_size=8, channels=1, val_size=2,
                             split_seed=0, test_size=2)  # fmt: skip
    seen = {int(x) for x in data.train_images.flatten()}
    assert seen <= {0, 1} | set(range(100, 112)), sorted(seen)  # an I image's 8-bit values


def test_only_regular_files_are_read(tmp_path):
    """A FIFO named like an image was opened and waited on forever; a folder named x.png
    stopped the run. Neither is an image: both are passed over."""
    (tmp_path / "a").mkdir()
    for i in range(12):
        Image.fromarray(np.full((8, 8), i, np.uint8)).save(tmp_path / "a" / f"{i}.png")
    os.mkfifo(tmp_path / "a" / "fifo.png")
    (tmp_path / "a" / "folder.png").mkdir()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        loading = pool.submit(load_image_folder, root=str(tmp_path), image_size=8, channels=1,
                              val_size=2, split_seed=0, test_size=2)  # fmt: skip
        try:
            data = loading.result(timeout=60)
        finally:
            if not loading.done():  # let the thread stuck in open() go: a writer end
                os.close(os.open(tmp_path / "a" / "fifo.png", os.O_WRONLY | os.O_NONBLOCK))
    assert len(data.train_images) == 8


def test_a_relative_data_root_is_recorded_whole(tmp_path, monkeypatch):
    """A run trained with data.root=folder (relative) reads back from anywhere: a notebook in
    notebooks/ could not open it."""
    from test_split_limits import folder_run, image_folder

    from aegan import load_run
    from aegan.train import train
    from conftest import compose_config

    image_folder(tmp_path / "images", classes=2, per_class=30)
    monkeypatch.chdir(tmp_path)
    train(compose_config(folder_run("images", "evaluate.at_end=false"), tmp_path / "run"))
    monkeypatch.chdir(tmp_path / "run")
    run = load_run(tmp_path / "run")
    assert run.config.data.root == str(tmp_path / "images")
