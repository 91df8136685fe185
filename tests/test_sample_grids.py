"""A GAN's sample grids (``RUN_DIR/samples/epoch-XXXX.png``) are named by the task's own
epoch count, read back from a checkpoint on resume: whatever is already at a grid's name
is kept aside, never written over or through."""

from __future__ import annotations

import pytest
import torch

from aegan.errors import ContractError
from aegan.logger import TensorBoardLogger
from aegan.tasks.adversarial import write_sample_png
from aegan.train import train
from conftest import TINY_GAN, compose_config


def test_a_grid_already_at_the_name_is_kept_aside(tmp_path):
    """It was written over."""
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "epoch-0001.png").write_bytes(b"trained")
    write_sample_png(TensorBoardLogger(tmp_path / "tb"), 1, b"new")
    assert (tmp_path / "samples" / "epoch-0001.png").read_bytes() == b"new"
    assert (tmp_path / "samples" / "epoch-0001.png.earlier").read_bytes() == b"trained"


def test_a_link_at_the_name_is_not_written_through(tmp_path):
    """The grid's bytes went into the file the link named, anywhere on the disk."""
    elsewhere = tmp_path / "notes.txt"
    elsewhere.write_bytes(b"notes")
    (tmp_path / "run" / "samples").mkdir(parents=True)
    (tmp_path / "run" / "samples" / "epoch-0002.png").symlink_to(elsewhere)
    write_sample_png(TensorBoardLogger(tmp_path / "run" / "tb"), 2, b"new")
    assert elsewhere.read_bytes() == b"notes"
    assert (tmp_path / "run" / "samples" / "epoch-0002.png").read_bytes() == b"new"


def test_a_resume_whose_task_state_counts_no_epoch_keeps_the_first_grid(tmp_path):
    """A checkpoint whose task state says epoch 0 (the run's says 1) resumed in its folder:
    the second epoch's grid was written as epoch-0001.png, over the first's."""
    run = tmp_path / "run"
    tiny = [*TINY_GAN, "data.subset=128", "model.fd_samples=200", "evaluate.at_end=false"]
    train(compose_config(tiny, run))
    first = (run / "samples" / "epoch-0001.png").read_bytes()
    last = run / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    state["task"]["epoch"] = 0
    for name in ("last.pt", "best.pt"):  # hard links to one file: the new one replaces them
        (run / "checkpoints" / name).unlink()
    torch.save(state, last)
    train(compose_config([*tiny, "trainer.epochs=2", f"trainer.resume={last}"], run))
    assert (run / "samples" / "epoch-0001.png.earlier").read_bytes() == first


@pytest.mark.parametrize(
    ("images", "said"),
    [([torch.rand(1, 28, 28)], "a list, not a tensor"),
     (torch.rand(4, 28, 28), "a tensor of shape (4, 28, 28)"),
     (torch.rand(4, 2, 28, 28), "a tensor of shape (4, 2, 28, 28)"),
     (torch.rand(0, 1, 28, 28), "a tensor of shape (0, 1, 28, 28)"),
     (torch.zeros(4, 1, 28, 28, dtype=torch.uint8), "a torch.uint8 tensor")],
)  # fmt: skip
def test_a_task_picture_that_is_no_batch_of_images_is_named_in_one_line(tmp_path, images, said):
    """A task's log_epoch: a list was torchvision's AttributeError, (4, 28, 28) a PNG of 4
    channels written without a word."""
    logger = TensorBoardLogger(tmp_path / "tb", enabled=False)
    with pytest.raises(ContractError) as caught:
        logger.image_grid("mine", images, 0)
    assert str(caught.value) == (
        f"image_grid('mine') was given {said}; it takes float images (N, C, H, W) in [0, 1], "
        "C 1 or 3"
    )
