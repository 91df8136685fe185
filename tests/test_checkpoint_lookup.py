"""How a checkpoint is found from what a user names: a file, a run dir or its checkpoints
folder (``resolve_checkpoint``, ``run_dir_of``), and one line saying what is there instead."""

from __future__ import annotations

import os

import pytest

from aegan.engine.checkpoint import resolve_checkpoint, run_dir_of
from aegan.errors import CheckpointError


def test_resolve_checkpoint_takes_a_file_a_run_dir_or_its_checkpoints_folder(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for name in ("last.pt", "best.pt", "step-00000001.pt"):
        (folder / name).write_bytes(b"x")
    assert resolve_checkpoint(folder / "step-00000001.pt") == folder / "step-00000001.pt"
    assert resolve_checkpoint(tmp_path) == folder / "last.pt"
    assert resolve_checkpoint(folder) == folder / "last.pt"
    assert resolve_checkpoint(tmp_path, "best") == folder / "best.pt"
    assert resolve_checkpoint(folder, "best") == folder / "best.pt"


def test_a_folder_of_runs_is_named_so_and_a_sweeps_as_a_sweep(tmp_path):
    """``logs/train/runs`` was called a sweep's folder."""
    runs = tmp_path / "runs"
    for run in ("2026-11-27_10-00-00", "2026-11-28_10-00-00"):
        (runs / run / "checkpoints").mkdir(parents=True)
        (runs / run / "checkpoints" / "last.pt").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="it is a folder of runs: name one of its runs"):
        resolve_checkpoint(runs)
    (runs / "multirun.yaml").write_text("{}\n")
    with pytest.raises(CheckpointError, match="it is a sweep's folder: name one of its runs"):
        resolve_checkpoint(runs)


def test_resolve_checkpoint_says_what_it_expected(tmp_path):
    with pytest.raises(CheckpointError) as caught:
        resolve_checkpoint(tmp_path)
    assert str(caught.value) == (
        f"no checkpoint at {tmp_path}: expected a .pt file, or a run dir holding "
        "checkpoints/last.pt"
    )
    for folder in (tmp_path, tmp_path / "checkpoints"):  # only last.pt: no epoch had ended
        folder.mkdir(exist_ok=True)
        (folder / "last.pt").write_bytes(b"x")
        with pytest.raises(CheckpointError) as caught:
            resolve_checkpoint(tmp_path, "best")
        assert str(caught.value).endswith(
            "holding checkpoints/best.pt; it holds last.pt, no best.pt: no epoch had ended "
            "when it stopped, or it was resumed into this folder after its best epoch, whose "
            "best.pt is the folder it came from (trainer.resume in its .hydra/overrides.yaml): "
            "use checkpoint=last"
        )
        (folder / "last.pt").unlink()


def test_run_dir_of_a_file_a_checkpoints_folder_or_a_run_dir(tmp_path):
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / "last.pt").write_bytes(b"x")
    (tmp_path / "loose.pt").write_bytes(b"x")
    assert run_dir_of(folder / "last.pt") == tmp_path / "run"
    assert run_dir_of(folder) == tmp_path / "run"
    assert run_dir_of(tmp_path / "run") == tmp_path / "run"
    assert run_dir_of(tmp_path / "loose.pt") == tmp_path


def test_resolve_checkpoint_says_a_folder_holds_the_checkpoints_place(tmp_path):
    (tmp_path / "checkpoints" / "last.pt").mkdir(parents=True)
    with pytest.raises(CheckpointError) as caught:
        resolve_checkpoint(tmp_path)
    assert str(caught.value).endswith(
        f"; {tmp_path / 'checkpoints' / 'last.pt'} is a folder: move it away"
    )


def test_resolve_checkpoint_says_a_fifo_is_no_checkpoint_file(tmp_path):
    """It said "expected a .pt file", of a path that names one."""
    os.mkfifo(tmp_path / "last.pt")
    with pytest.raises(CheckpointError) as caught:
        resolve_checkpoint(tmp_path / "last.pt")
    assert str(caught.value).endswith("; it is a FIFO")


def test_resolve_checkpoint_names_a_link_whose_file_is_gone(tmp_path):
    """A run whose last.pt links to a moved file read "its run has saved no checkpoint yet"."""
    (tmp_path / ".hydra").mkdir()
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.pt").symlink_to(tmp_path / "moved.pt")
    with pytest.raises(CheckpointError) as caught:
        resolve_checkpoint(tmp_path)
    assert str(caught.value).endswith(
        f"; {tmp_path / 'checkpoints' / 'last.pt'} is a link to nothing: it names "
        f"{tmp_path / 'moved.pt'}"
    )


@pytest.mark.parametrize("kind", ["file", "fifo"])
def test_resolve_checkpoint_names_a_checkpoints_folder_that_is_none(tmp_path, kind):
    """It read "its run has saved no checkpoint yet", of a run whose folder was replaced."""
    (tmp_path / ".hydra").mkdir()
    folder = tmp_path / "checkpoints"
    folder.write_bytes(b"") if kind == "file" else os.mkfifo(folder)
    with pytest.raises(CheckpointError) as caught:
        resolve_checkpoint(tmp_path)
    what = "a file" if kind == "file" else "a FIFO"
    assert str(caught.value).endswith(f"; {folder} is {what}, where a run keeps a folder")


def test_best_of_a_checkpoint_file_is_refused(tmp_path):
    """A file is the weights it holds: checkpoint=best with one took the file's weights."""
    (tmp_path / "checkpoints").mkdir()
    for name in ("last.pt", "best.pt"):
        (tmp_path / "checkpoints" / name).write_bytes(b"x")
    with pytest.raises(CheckpointError) as caught:
        resolve_checkpoint(tmp_path / "checkpoints" / "last.pt", "best")
    assert "checkpoint=best is not allowed with the checkpoint file" in str(caught.value)
    assert resolve_checkpoint(tmp_path, "best") == tmp_path / "checkpoints" / "best.pt"
