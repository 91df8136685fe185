"""A job whose folder holds both metrics.json and failed.json failed if the failure came
after those figures: told by the hash of metrics.json that failed.json holds, not by the
files' times, which a copied sweep (``cp -r``, rsync) or a coarse clock gives anew."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from aegan.io.files import write_json
from aegan.sweeps.reader import read_sweep

SECOND = 10**9


def job(root: Path, *, failed_after: bool | None) -> Path:
    """A trained job and its failure: after its figures (their hash in it), before them
    (another hash), or written before the hash was kept (None)."""
    folder = root / "0"
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("- model.latent_dim=2\n")
    write_json(folder / "metrics.json", {"val/best_objective": 0.5})
    failure = {"type": "CheckpointError", "error": "refused"}
    if failed_after is not None:
        now = hashlib.sha256((folder / "metrics.json").read_bytes()).hexdigest()
        failure["metrics_sha256"] = now if failed_after else None
    write_json(folder / "failed.json", failure)
    return folder


def times(folder: Path, metrics: int, failed: int) -> None:
    os.utime(folder / "metrics.json", ns=(metrics, metrics))
    os.utime(folder / "failed.json", ns=(failed, failed))


def status(root: Path) -> str:
    return read_sweep(root)[0]["status"]


def test_a_failure_after_the_figures_is_failed_whatever_the_times(tmp_path):
    folder = job(tmp_path, failed_after=True)
    times(folder, 1700 * SECOND, 1700 * SECOND)  # a clock of whole seconds
    assert status(tmp_path) == "failed"
    times(folder, 1701 * SECOND, 1700 * SECOND)  # copied, metrics.json last
    assert status(tmp_path) == "failed"
    copied = tmp_path.parent / f"{tmp_path.name}-copy"
    shutil.copytree(tmp_path, copied, copy_function=shutil.copyfile)
    assert status(copied) == "failed"


def test_figures_written_after_the_failure_are_ok_whatever_the_times(tmp_path):
    folder = job(tmp_path, failed_after=False)  # no metrics.json when it failed
    times(folder, 1700 * SECOND, 1800 * SECOND)
    assert status(tmp_path) == "ok"
    write_json(folder / "failed.json", {"type": "E", "error": "x", "metrics_sha256": "0" * 64})
    times(folder, 1700 * SECOND, 1800 * SECOND)  # another run's figures since
    assert status(tmp_path) == "ok"


def test_a_failure_from_before_the_hash_is_told_by_times(tmp_path):
    folder = job(tmp_path, failed_after=None)
    times(folder, 1700 * SECOND, 1701 * SECOND)
    assert status(tmp_path) == "failed"
    times(folder, 1701 * SECOND, 1700 * SECOND)
    assert status(tmp_path) == "ok"
