"""scripts/compare.py and scripts/parity.py check every job's settings before their first
sweep, but leave the data's files to that sweep's own check, which reads them before its
first job and keeps them for its jobs: read in the script too, they were read for nothing.
A damaged file still ends the script at the first sweep, once, not each model's in turn."""

from __future__ import annotations

import pytest

import aegan.config
import aegan.signals.child_runs
from aegan.errors import DataFileError


@pytest.fixture
def reads(monkeypatch, no_sweeps):
    """The data reads of this process, each as the sweeps run before it; ``reads.damaged =
    True``: each refuses the files."""

    class Reads(list):
        damaged = False

    seen = Reads()

    def read_ahead(data_cfg, data_dir=None):
        seen.append(len(no_sweeps))
        if seen.damaged:
            raise DataFileError("train-images-idx3-ubyte.gz: damaged")
        return None

    monkeypatch.setattr(aegan.config, "read_ahead", read_ahead)
    return seen


@pytest.fixture
def no_sweeps(monkeypatch):
    """Each sweep refused before any job (exit 2), as for a damaged data file."""
    commands = []
    monkeypatch.setattr(aegan.signals.child_runs, "run_to_its_end",
                        lambda command, **_: commands.append(command) or 2)  # fmt: skip
    return commands


def test_parity_leaves_the_data_to_its_first_sweep(cli, tmp_path, reads, no_sweeps):
    result = cli("scripts/parity.py", "ae", "--out", str(tmp_path / "out"), "--epochs", "1")
    assert result.returncode == 2 and len(no_sweeps) == 1, result.stderr
    assert reads == []


def test_compare_reads_the_data_only_once_a_sweep_is_refused(cli, tmp_path, reads, no_sweeps):
    models = ["--models", "autoencoder,vae", "--seeds", "0", "--epochs", "1"]
    result = cli("scripts/compare.py", "run", *models, "--out", str(tmp_path / "a"))
    assert reads == [1, 2], result.stderr  # after each sweep's refusal, none before
    reads.clear()
    reads.damaged = True
    result = cli("scripts/compare.py", "run", *models, "--out", str(tmp_path / "b"))
    assert result.returncode == 1 and len(no_sweeps) == 3 and reads == [3]
    assert result.stderr.splitlines()[-1] == (
        "error: autoencoder: its sweep was refused before any job (exit 2); the models after "
        "it were not trained"
    )
