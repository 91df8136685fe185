"""Data settings that do not fit the data: refused in one line before an image is read, and
held-out splits that hold every class they can."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from test_split_limits import folder_run, image_folder

from aegan.data.image_folder import load_image_folder
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
    """Both were refused only once every image had been read, which can take minutes."""
    root = image_folder(tmp_path / "images", classes=2, per_class=30)
    monkeypatch.setattr(Image, "open", no_image_read)
    result = cli("aegan.train", *folder_run(root, *overrides), f"hydra.run.dir={tmp_path}/run")
    assert_one_error_line(result, message.format(root=root))


def no_image_read(*args, **kwargs):
    raise AssertionError("an image was read")
