"""Data settings that do not fit the data: refused in one line before an image is read, and
held-out splits that hold every class they can."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from test_split_limits import folder_run, image_folder

from aegan.data.idx import write_idx
from aegan.data.image_folder import load_image_folder
from aegan.data.sources import DEBIAN_FASHION_MNIST
from conftest import assert_one_error_line


def test_small_held_out_splits_of_unequal_classes_hold_every_class(tmp_path):
    """A plain draw of 4 of 100 images, 95 of one class, held that class only at most
    seeds: the probe's test accuracy was measured on one class."""
    image_folder(tmp_path / "big", classes=1, per_class=95)
    image_folder(tmp_path / "small", classes=1, per_class=5)
    for seed in range(10):
        data = load_image_folder(root=str(tmp_path), image_size=8, channels=3, val_size=4,
                                 split_seed=seed, test_size=4)  # fmt: skip
        assert set(data.test_labels.tolist()) == {0, 1}, seed
        assert set(data.val_labels.tolist()) == {0, 1}, seed
        assert 1 in data.train_labels  # the small class keeps images to train on


def test_a_stratified_split_is_seeded_shuffled_and_proportional():
    from aegan.data.splits import stratified_split

    labels = torch.arange(300) // 100  # three classes, sorted as a folder lists them
    images = torch.arange(300)
    kept_x, kept_y, held_x, held_y = stratified_split(images, labels, size=30, seed=3, key="k")
    assert torch.bincount(held_y).tolist() == [10, 10, 10]
    assert sorted(torch.cat([kept_x, held_x]).tolist()) == list(range(300))
    assert held_y[:6].unique().numel() > 1  # shuffled, not class after class
    again = stratified_split(images, labels, size=30, seed=3, key="k")
    assert torch.equal(again[2], held_x)
    one_each = stratified_split(images, labels, size=2, seed=0, key="k")[3]
    assert one_each.unique().numel() == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.subset=500", "evaluate.at_end=false"],
         "data.subset=500 is more than the 20 training images of image_folder"),
        (["data.batch_size=32", "evaluate.at_end=false"],
         "data.batch_size=32 is larger than the training set: data.root={root} holds 60 "
         "images, 20 after data.val_size=20 and data.test_size=20"),
    ],
)  # fmt: skip
def test_a_subset_or_batch_larger_than_the_folder_is_refused_before_reading(
    cli, tmp_path, monkeypatch, overrides, message
):
    """Both were refused only once every image had been read, which can take minutes; then,
    without the final evaluation (whose checks listed the folder), after the run's folder
    was made, leaving a run that never trained for aegan.summarize to list."""
    root = image_folder(tmp_path / "images", classes=2, per_class=30)
    monkeypatch.setattr(Image, "open", no_image_read)
    result = cli("aegan.train", *folder_run(root, *overrides), f"hydra.run.dir={tmp_path}/run")
    assert_one_error_line(result, message.format(root=root))
    assert not (tmp_path / "run").exists()


def no_image_read(*args, **kwargs):
    raise AssertionError("an image was read")


def idx_folder(folder, train_labels, test_labels):
    """The four IDX files, their labels beginning with the ones given."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for split, first in (("train", train_labels), ("t10k", test_labels)):
        labels = np.concatenate([first, rng.integers(0, 10, 100)])
        write_idx(folder / f"{split}-labels-idx1-ubyte", labels)
        write_idx(folder / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (110, 28, 28)))
    return folder


RUN = ["trainer.device=cpu", "data.val_size=10", "data.batch_size=10", "trainer.epochs=1",
       "evaluate.at_end=false"]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "held", "other"),
    [("mnist", "Fashion-MNIST", "fashion_mnist"), ("fashion_mnist", "MNIST", "mnist")],
)
def test_the_other_sets_idx_files_are_refused(cli, tmp_path, data, held, other):
    """data=mnist read Fashion-MNIST's files (the same names and shapes) without a word."""
    first = {
        "MNIST": ([5, 0, 4, 1, 9, 2, 1, 3, 1, 4], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]),
        "Fashion-MNIST": ([9, 0, 0, 3, 0, 2, 7, 2, 5, 5], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]),
    }
    root = idx_folder(tmp_path / "idx", *first[held])
    result = cli("aegan.train", f"data={data}", f"data.root={root}", *RUN,
                 f"hydra.run.dir={tmp_path}/run")  # fmt: skip
    assert_one_error_line(
        result, f"data={data} is not allowed with data.root={root}: they hold {held}, not"
    )
    assert f"use data={other}" in result.stderr


@pytest.mark.parametrize("swapped", ["train", "test", "both"])
def test_a_splits_files_in_the_other_splits_place_are_refused(cli, tmp_path, swapped):
    """A folder whose train files were copies of the test files trained on the test images,
    then measured on them, without a word."""
    train, test = [9, 0, 0, 3, 0, 2, 7, 2, 5, 5], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    given = {"train": (test, test), "test": (train, train), "both": (test, train)}[swapped]
    root = idx_folder(tmp_path / "idx", *given)
    result = cli("aegan.train", "data=fashion_mnist", f"data.root={root}", *RUN,
                 f"hydra.run.dir={tmp_path}/run")  # fmt: skip
    place, held = ("test", "train") if swapped == "test" else ("train", "test")
    assert_one_error_line(
        result, f"data=fashion_mnist is not allowed with data.root={root}: its {place} files "
        f"hold the {held} split"
    )  # fmt: skip


@pytest.mark.skipif(not DEBIAN_FASHION_MNIST.is_dir(), reason="needs dataset-fashion-mnist")
def test_mnist_pointed_at_the_fashion_mnist_package_is_refused(cli, tmp_path):
    result = cli("aegan.train", "data=mnist", f"data.root={DEBIAN_FASHION_MNIST}", *RUN,
                 f"hydra.run.dir={tmp_path}/run")  # fmt: skip
    assert_one_error_line(result, "they hold Fashion-MNIST, not MNIST")


@pytest.mark.skipif(not DEBIAN_FASHION_MNIST.is_dir(), reason="needs dataset-fashion-mnist")
@pytest.mark.parametrize(("sweep", "inside"), [(False, ""), (False, "/runs/a"), (True, "/sweep")])
def test_a_run_folder_in_the_data_folder_is_refused(cli, tmp_path, sweep, inside):
    """An image folder read such a run's checkpoints as a class of images: its resume and
    evaluation were refused ("the class folder .../checkpoints holds no image")."""
    data = tmp_path / "data"
    data.mkdir()
    for path in DEBIAN_FASHION_MNIST.glob("*.gz"):
        (data / path.name).symlink_to(path)
    key = "hydra.sweep.dir" if sweep else "hydra.run.dir"
    args = ["-m", "seed=1,2"] if sweep else []
    result = cli("aegan.train", *args, f"data.root={data}", *RUN, f"{key}={data}{inside}")
    assert_one_error_line(result, f"the data folder data.root={data}, where the run's files")
    assert sorted(p.name for p in data.iterdir()) == sorted(
        p.name for p in DEBIAN_FASHION_MNIST.glob("*.gz")
    )  # fmt: skip
