"""A process killed while it saved a checkpoint leaves a hidden temp file as large as one:
the next run in the folder removes it, and nothing else of the folder's. Killed between
writing its step file whole and pointing last.pt at it, or before pruning the oldest step
file: the resume went back one step and filed the newer checkpoint as a branch's past, and
each such kill made the run keep one more step file for good."""

import logging
import os
import tempfile
from pathlib import Path

from resume_checks import assert_same_training_state, last_state

from aegan.engine.checkpoint import resolve_checkpoint
from aegan.train import train
from conftest import RESUME, TINY_AE


def left_as_a_killed_save(folder: Path, name: str) -> Path:
    """A temp file as ``atomic_write_bytes`` makes it for ``folder/name``, left unrenamed."""
    fd, path = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    os.write(fd, b"part of a checkpoint")
    os.close(fd)
    return Path(path)


def test_a_resume_removes_the_partial_checkpoints_of_a_killed_save(make_cfg):
    cfg = make_cfg(*RESUME)
    train(cfg)
    folder = Path(cfg.paths.output_dir) / "checkpoints"
    partial = [left_as_a_killed_save(folder, name)
               for name in ("step-00000020.pt", "last.pt", "best.pt")]  # fmt: skip
    users = [folder / ".notes.tmp", folder / ".step-00000010.pt.tmp", folder / "step-10.pt.tmp"]
    for path in users:
        path.write_text("the user's")

    train(make_cfg(*RESUME, "trainer.epochs=2", "trainer.resume=auto"))
    assert not [p for p in partial if p.exists()]
    assert all(p.read_text() == "the user's" for p in users)
    assert last_state(folder.parent)["step"] == 20  # it continued: 10 steps an epoch


def test_a_new_run_removes_those_of_a_run_killed_in_its_first_save(make_cfg):
    cfg = make_cfg(*RESUME)
    folder = Path(cfg.paths.output_dir) / "checkpoints"
    folder.mkdir(parents=True)  # no checkpoint was saved: the folder holds no trained run
    partial = left_as_a_killed_save(folder, "step-00000010.pt")
    train(cfg)
    assert not partial.exists()
    assert last_state(folder.parent)["step"] == 10


COMMON = [*TINY_AE, "data.subset=640", "trainer.checkpoint_every_steps=4",
          "trainer.keep_checkpoints=2"]  # fmt: skip


def killed_between_write_and_link(checkpoints: Path) -> Path:
    """last.pt pointed back at the step file before the newest, as a kill there leaves it."""
    older, newest = sorted(checkpoints.glob("step-*.pt"))[-2:]
    (checkpoints / "last.pt").unlink()
    os.link(older, checkpoints / "last.pt")
    os.utime(newest)  # written after last.pt's file, as the save wrote it
    return newest


def test_a_resume_takes_the_step_file_a_killed_save_wrote_whole(make_cfg, caplog):
    caplog.set_level(logging.INFO)
    straight = make_cfg(*COMMON, "trainer.epochs=2", run="straight")
    train(straight)
    first = make_cfg(*COMMON, "trainer.epochs=1", "trainer.resume=auto", run="killed")
    train(first)
    checkpoints = Path(first.paths.output_dir) / "checkpoints"
    newest = killed_between_write_and_link(checkpoints)
    assert resolve_checkpoint(first.paths.output_dir) == newest
    assert "older than step-00000010.pt, which a save cut short wrote whole" in caplog.text
    train(make_cfg(*COMMON, "trainer.epochs=2", "trainer.resume=auto", run="killed"))
    assert not list(checkpoints.glob("past-step-*"))  # no branch: the run went on from 10
    assert_same_training_state(
        last_state(straight.paths.output_dir), last_state(checkpoints.parent)
    )


def test_a_step_file_a_killed_save_left_unpruned_is_not_kept_for_good(make_cfg, caplog):
    first = make_cfg(*COMMON, "trainer.epochs=1", run="run")
    train(first)
    checkpoints = Path(first.paths.output_dir) / "checkpoints"
    oldest = sorted(checkpoints.glob("step-*.pt"))[0]
    extra = checkpoints / "step-00000001.pt"  # one a kill before the pruning left
    extra.write_bytes(oldest.read_bytes())
    os.utime(extra, (0, 0))
    train(make_cfg(*COMMON, "trainer.epochs=2", "trainer.resume=auto", run="run"))
    assert len(list(checkpoints.glob("step-*.pt"))) == 2
    assert "step checkpoints from before this resume" not in caplog.text


def test_a_resume_with_nothing_left_points_last_at_the_step_it_was_given(make_cfg):
    """The line after a failed write at the last epoch names the step file written whole:
    continued with it, nothing was left to train, nothing saved, and last.pt stayed an
    epoch behind the figures the run then wrote (aegan.evaluate measured the older one)."""
    cfg = make_cfg(*COMMON, "trainer.epochs=1", run="run")
    train(cfg)
    checkpoints = Path(cfg.paths.output_dir) / "checkpoints"
    newest = killed_between_write_and_link(checkpoints)
    train(make_cfg(*COMMON, "trainer.epochs=1", f"trainer.resume={newest}", run="run"))
    assert last_state(checkpoints.parent)["step"] == 10
    assert not list(checkpoints.glob("past-step-*"))
