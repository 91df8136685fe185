"""A checkpoint saved mid-epoch continues that epoch's permutation after ``batch`` steps of
``processes x data.batch_size`` images: a resume drawing another number a step (another
batch size, or another number of torchrun processes) is one line, not an epoch that
silently repeats some images and skips others."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from aegan.io.files import atomic_save
from aegan.train import train
from conftest import TINY_AE, assert_one_error_line, compose_config

# 10 steps an epoch; step-00000003.pt stops at batch 3 of the first
RUN = [*TINY_AE, "data.subset=640", "trainer.checkpoint_every_steps=3",
       "trainer.keep_checkpoints=10", "evaluate.at_end=false"]  # fmt: skip


@pytest.fixture(scope="module")
def mid_epoch(tmp_path_factory) -> Path:
    """A tiny run's checkpoint at step 3, mid-epoch, saved by one process at batch 64."""
    run = tmp_path_factory.mktemp("resume-order") / "run"
    train(compose_config(RUN, run))
    return run / "checkpoints" / "step-00000003.pt"


def resumed_as(mid_epoch: Path, folder: Path, change) -> Path:
    """A copy of the checkpoint with ``change`` applied to its state."""
    state = torch.load(mid_epoch, weights_only=True)
    change(state)
    copy = folder / "step-00000003.pt"
    atomic_save(state, copy)
    return copy


def test_the_checkpoint_names_the_processes_that_drew_its_steps(mid_epoch):
    state = torch.load(mid_epoch, weights_only=True)
    assert (state["processes"], state["batch_size"]) == (1, state["config"]["data"]["batch_size"])


def test_a_mid_epoch_resume_at_another_batch_size_is_one_line(cli, mid_epoch, tmp_path):
    run_dir = tmp_path / "resumed"
    refused = cli("aegan.train", *RUN, "data.batch_size=16", f"trainer.resume={mid_epoch}",
                  f"hydra.run.dir={run_dir}")  # fmt: skip
    assert_one_error_line(
        refused,
        "it stopped at batch 3 of an epoch drawn 64 images a step (1 process x "
        "data.batch_size=64); this run draws 16 (1 process x 16)",
    )
    assert not run_dir.exists()  # refused before its folder: it was made, and left empty


def test_a_checkpoint_of_two_processes_resumes_in_one_at_twice_the_batch(cli, mid_epoch, tmp_path):
    """2 torchrun ranks at batch 32 drew the same images a step as 1 process at 64."""
    two_ranks = resumed_as(mid_epoch, tmp_path, lambda s: s.update(processes=2, batch_size=32)
                           or s["config"]["data"].update(batch_size=32))  # fmt: skip
    resumed = cli("aegan.train", *RUN, f"trainer.resume={two_ranks}",
                  f"hydra.run.dir={tmp_path / 'resumed'}")  # fmt: skip
    assert resumed.returncode == 0, (resumed.stdout + resumed.stderr)[-2000:]
    refused = cli("aegan.train", *RUN, "data.batch_size=32", f"trainer.resume={two_ranks}",
                  f"hydra.run.dir={tmp_path / 'refused'}")  # fmt: skip
    assert_one_error_line(refused, "resume with data.batch_size=64 in 1 process, or from")
    assert not (tmp_path / "refused").exists()


@pytest.mark.parametrize("processes", ["2", -1, 0, 2**70, True, [2]])
def test_a_changed_process_count_is_one_line(cli, mid_epoch, tmp_path, processes):
    changed = resumed_as(mid_epoch, tmp_path, lambda s: s.update(processes=processes))
    refused = cli("aegan.train", *RUN, f"trainer.resume={changed}",
                  f"hydra.run.dir={tmp_path / 'resumed'}")  # fmt: skip
    assert_one_error_line(refused, f"{changed}: not a usable checkpoint: processes=")


@pytest.mark.parametrize("processes", ["2", 0])
def test_a_damaged_process_count_at_an_epochs_end_is_one_line(cli, mid_epoch, tmp_path, processes):
    """Only a mid-epoch resume compared it: at an epoch's end the damaged file resumed."""
    at_end = mid_epoch.parent / "last.pt"  # one epoch done, batch 0
    changed = resumed_as(at_end, tmp_path, lambda s: s.update(processes=processes))
    run_dir = tmp_path / "resumed"
    refused = cli("aegan.train", *RUN, "trainer.epochs=2", f"trainer.resume={changed}",
                  f"hydra.run.dir={run_dir}")  # fmt: skip
    assert_one_error_line(refused, f"{changed}: not a usable checkpoint: processes=")
    assert not run_dir.exists()
