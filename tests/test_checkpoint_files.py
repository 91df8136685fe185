"""Checkpoint files: a save that fails or is killed part-way leaves the old file whole.

Without root: the failures are made in this process (``os.fsync`` raising, a file-size
limit that stops a write part-way, a SIGKILL before the rename), not on a full tmpfs
(``tests/test_robustness.py`` has that one, where mounting is allowed).
"""

import errno
import os
import resource
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from aegan.engine import load_checkpoint, save_checkpoint
from aegan.engine.checkpoint import atomic_save
from aegan.errors import CheckpointError
from conftest import REPO, assert_same


def saved_state(seed: int, numel: int = 256) -> dict:
    """A stand-in for a training state: every part a checkpoint holds, small."""
    g = torch.Generator().manual_seed(seed)
    return {
        "config": {"seed": 0}, "choices": {"model": "autoencoder", "data": "fashion_mnist"},
        "epoch": 0, "batch": seed, "step": seed, "best_objective": float("inf"), "history": [],
        "networks": {"net": {"w": torch.randn(numel, generator=g), "b": torch.randn(3, generator=g)}},
        "optimizers": {"adam": {"state": {0: {"step": torch.tensor(float(seed))}}}},
        "scaler": {}, "task": {}, "rng": {"torch": torch.get_rng_state()},
    }  # fmt: skip


def leftovers(folder: Path, *expected: str) -> list[str]:
    """Names in ``folder`` besides ``expected``: temporary files a failed save left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name not in expected)


@contextmanager
def file_size_limit(nbytes: int):
    """Writes past ``nbytes`` fail with EFBIG (RLIMIT_FSIZE; SIGXFSZ ignored), in any file of
    this process: a disk that fills up part-way through a write, without root."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_the_file_size_limit_stops_a_write_part_way(tmp_path):
    """The mechanism the tests below rely on: the first ``limit`` bytes land, then OSError."""
    with file_size_limit(4096), pytest.raises(OSError) as caught:
        (tmp_path / "big").write_bytes(bytes(10_000))
    assert caught.value.errno == errno.EFBIG
    assert (tmp_path / "big").stat().st_size == 4096


def test_a_failing_fsync_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    atomic_save(saved_state(1), path)
    old_bytes = path.read_bytes()

    def failing_fsync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="Input/output error"):
        atomic_save(saved_state(2), path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes  # not a byte of the new state at the final name
    assert_same(torch.load(path, weights_only=True), saved_state(1))
    assert leftovers(tmp_path, "last.pt") == []  # the temporary file is gone


def test_a_write_failing_part_way_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / "last.pt"
    atomic_save(saved_state(1), path)
    old_bytes = path.read_bytes()
    big = saved_state(2, numel=2**18)  # 1 MiB of weights: the write stops at 256 KiB
    with file_size_limit(2**18), pytest.raises(OSError) as caught:
        atomic_save(big, path)
    assert caught.value.errno == errno.EFBIG
    assert path.read_bytes() == old_bytes
    assert_same(torch.load(path, weights_only=True), saved_state(1))
    assert leftovers(tmp_path, "last.pt") == []

    atomic_save(big, path)  # the limit lifted, the same call succeeds
    assert_same(torch.load(path, weights_only=True), big)


def test_sigkill_before_the_rename_leaves_the_old_file_whole(tmp_path):
    """A process killed with the new file written but not yet renamed (at its fsync)."""
    path = tmp_path / "last.pt"
    atomic_save(saved_state(1), path)
    old_bytes = path.read_bytes()
    child = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "import torch\n"
        "from aegan.engine.checkpoint import atomic_save\n"
        "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
        "atomic_save({'step': 2, 'weights': {'w': torch.ones(2**16)}}, Path(sys.argv[1]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", child, str(path)], cwd=REPO, capture_output=True, timeout=120
    )
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    assert path.read_bytes() == old_bytes
    assert_same(torch.load(path, weights_only=True), saved_state(1))
    # what SIGKILL could not clean up is a hidden file that no reader takes for a checkpoint
    assert all(name.startswith(".") for name in leftovers(tmp_path, "last.pt"))


def test_a_failed_checkpoint_keeps_last_pt_at_the_previous_step(tmp_path):
    folder = tmp_path / "checkpoints"
    save_checkpoint(saved_state(5), folder, step=5, keep=2, is_best=True)
    before = {name: (folder / name).read_bytes() for name in ("last.pt", "best.pt")}
    with file_size_limit(2**18), pytest.raises(CheckpointError) as caught:
        save_checkpoint(saved_state(10, numel=2**18), folder, step=10, keep=2, is_best=True)
    message = str(caught.value)
    assert "\n" not in message and str(folder / "step-00000010.pt") in message
    assert f"the last good checkpoint is {folder / 'last.pt'}" in message
    assert sorted(p.name for p in folder.iterdir()) == ["best.pt", "last.pt", "step-00000005.pt"]
    for name, old_bytes in before.items():
        assert (folder / name).read_bytes() == old_bytes, name
    state = load_checkpoint(folder / "last.pt")
    assert state["step"] == 5
    assert_same(state["networks"], saved_state(5)["networks"])


def test_last_and_best_point_at_their_steps_and_old_steps_are_dropped(tmp_path):
    folder = tmp_path / "checkpoints"
    for step in range(1, 6):
        save_checkpoint(saved_state(step), folder, step=step, keep=2, is_best=step in (1, 2))
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["best.pt", "last.pt", "step-00000004.pt", "step-00000005.pt"]
    for name, step in (("last.pt", 5), ("step-00000004.pt", 4), ("best.pt", 2)):
        state = load_checkpoint(folder / name)
        assert state["step"] == step, name
        assert_same(state["networks"], saved_state(step)["networks"], name)
        assert_same(state["optimizers"], saved_state(step)["optimizers"], name)


def test_without_hard_links_last_pt_is_a_whole_copy(tmp_path, monkeypatch):
    """Some filesystems refuse hard links: last.pt and best.pt are then copies."""

    def no_links(src, dst, **kwargs):
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(os, "link", no_links)
    folder = tmp_path / "checkpoints"
    save_checkpoint(saved_state(3), folder, step=3, keep=2, is_best=True)
    save_checkpoint(saved_state(4), folder, step=4, keep=2, is_best=False)
    assert leftovers(folder, "best.pt", "last.pt", "step-00000003.pt", "step-00000004.pt") == []
    assert_same(load_checkpoint(folder / "last.pt")["networks"], saved_state(4)["networks"])
    assert_same(load_checkpoint(folder / "best.pt")["networks"], saved_state(3)["networks"])
