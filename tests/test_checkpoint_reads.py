"""A checkpoint is read once per use: a resume's is read by the check before the run's
folder is made and taken from there by the run; a branch compares checkpoints a chunk at a
time, never holding two whole."""

from __future__ import annotations

from pathlib import Path

import pytest

import aegan.engine.checkpoint
from aegan.engine.checkpoint import load_checkpoint
from aegan.engine.failed_write import same_bytes
from aegan.train import train
from conftest import TINY_AE, compose_config

RUN = [*TINY_AE, "data.subset=256", "logger=none"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("reads") / "run"
    train(compose_config(RUN, run))
    return run


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """Each checkpoint file torch reads, in order."""
    read, real = [], aegan.engine.checkpoint.load_torch_file

    def counted(path, **kwargs):
        read.append(Path(path).resolve())
        return real(path, **kwargs)

    monkeypatch.setattr(aegan.engine.checkpoint, "load_torch_file", counted)
    return read


@pytest.mark.parametrize("resume", ["path", "auto"])
def test_a_resumed_checkpoint_is_read_once(cli, trained, tmp_path, reads, resume):
    """trainer.resume=PATH was read by the check before the folder, then again by the run."""
    last = trained / "checkpoints" / "last.pt"
    if resume == "path":
        run, given = tmp_path / "new", f"trainer.resume={last}"
    else:
        run, given = trained, "trainer.resume=auto"
    result = cli("aegan.train", *RUN, "trainer.epochs=2", given, f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert reads.count(last.resolve()) == 1, reads


def test_a_resumed_checkpoint_is_read_once_by_train_in_a_notebook(trained, tmp_path, reads):
    """``train(cfg)`` checks the folder and the checkpoint itself (no Hydra callback did),
    then resumes from what that check read."""
    last = trained / "checkpoints" / "last.pt"
    train(compose_config([*RUN, "trainer.epochs=2", f"trainer.resume={last}"], tmp_path / "new"))
    assert reads.count(last.resolve()) == 1, reads


def test_a_checkpoint_changed_since_is_read_again(trained, tmp_path, reads):
    copy = tmp_path / "last.pt"
    copy.write_bytes((trained / "checkpoints" / "last.pt").read_bytes())
    first = load_checkpoint(copy)
    (tmp_path / "new.pt").write_bytes(copy.read_bytes())  # as checkpoints are written:
    (tmp_path / "new.pt").replace(copy)  # another file in its place, the same bytes
    again = load_checkpoint(copy)  # read: the file changed
    taken = load_checkpoint(copy)  # the one just read
    assert len(reads) == 2 and first["step"] == again["step"] == taken["step"]
    load_checkpoint(copy)  # taken once only: the next load reads the file again
    assert len(reads) == 3


def test_checkpoints_are_compared_a_chunk_at_a_time(tmp_path, monkeypatch):
    size = 3 * 2**20 + 5
    a, b, c, d = (tmp_path / name for name in "abcd")
    a.write_bytes(bytes(size))
    b.write_bytes(bytes(size))
    c.write_bytes(bytes(size - 1) + b"\1")  # the last byte differs
    d.write_bytes(bytes(size - 1))

    def whole(self):
        raise AssertionError("a checkpoint read whole into memory")

    monkeypatch.setattr(Path, "read_bytes", whole)
    assert same_bytes(a, b) and same_bytes(a, a)
    assert not same_bytes(a, c) and not same_bytes(a, d)
    assert not same_bytes(a, tmp_path / "missing")
