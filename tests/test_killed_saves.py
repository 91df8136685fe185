"""A process killed while it saved a checkpoint leaves a hidden temp file as large as one:
the next run in the folder removes it, and nothing else of the folder's."""

import os
import tempfile
from pathlib import Path

from resume_checks import last_state

from aegan.train import train
from conftest import RESUME


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
