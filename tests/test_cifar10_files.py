"""CIFAR-10 from a local cifar-10-batches-py folder: torchvision unpickles its batches, so
files that are not the published ones (cut, changed, a pickle naming code) must be refused
unopened, in one line, before the run's folder is made."""

from __future__ import annotations

import pickle

import pytest

from aegan.data.cifar import BATCHES, FILES
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
