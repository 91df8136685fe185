"""A user's own experiment file on Hydra's search path, for the tests of what such a file
may hold."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path


def train_own_experiment(
    cli: Callable[..., subprocess.CompletedProcess], tmp_path: Path, text: str
) -> tuple[subprocess.CompletedProcess, Path, Path]:
    """``aegan.train experiment=mine`` where ``tmp_path/myconf/experiment/mine.yaml`` (package
    ``_global_``) holds ``text``: (the result, that file, the run folder it trains in)."""
    mine = tmp_path / "myconf" / "experiment" / "mine.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text(f"# @package _global_\n{text}")
    run = tmp_path / "run"
    result = cli("aegan.train", f"hydra.searchpath=[file://{tmp_path / 'myconf'}]",
                 "experiment=mine", "data.subset=64", f"hydra.run.dir={run}")  # fmt: skip
    return result, mine, run
