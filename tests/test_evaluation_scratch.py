"""Where ``aegan.evaluate`` writes outside a run: the log of a ``run=`` that names none, and a
sweep's ``multirun.yaml``. One folder, TMPDIR/aegan-evaluate, served every user of the
machine: the second got a permission error, and two sweeps at once wrote one file."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from unprivileged import NOBODY, failure_unprivileged, reachable_folder

import aegan.evaluate_settings  # noqa: F401  (its resolvers, as aegan.evaluate registers them)
from aegan.config import CONF_DIR
from aegan.signals import sweep_stops
from conftest import assert_one_error_line


def evaluate_folders(run: str = "/no/such/run") -> tuple[Path, Path]:
    """``hydra.run.dir`` (a ``run`` that names no run: the scratch) and ``hydra.sweep.dir``
    of ``aegan.evaluate``, as its config file resolves them in this process."""
    config = OmegaConf.load(Path(CONF_DIR) / "evaluate.yaml")
    config.run = run
    return Path(str(config.hydra.run.dir)), Path(str(config.hydra.sweep.dir))


def written_as_hydra_writes() -> None:
    """What Hydra writes there: the scratch's log file, the sweep's ``multirun.yaml``."""
    scratch, sweep = evaluate_folders()
    for folder, name in ((scratch, "evaluate.log"), (sweep, "multirun.yaml")):
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / name, "a") as file:
            file.write("written\n")


@pytest.fixture
def shared_tmp(monkeypatch):
    """A TMPDIR as /tmp is: every user may make files there, each their own."""
    with reachable_folder() as base:
        base.chmod(0o1777)
        monkeypatch.setenv("TMPDIR", str(base))
        monkeypatch.setattr(tempfile, "tempdir", None)  # read again from TMPDIR
        yield base


def test_a_second_user_of_the_machine_gets_evaluate_folders_of_their_own(shared_tmp):
    written_as_hydra_writes()  # the first user's evaluation sweep
    assert failure_unprivileged(written_as_hydra_writes) is None
    for uid in {os.geteuid(), NOBODY}:  # each user's, theirs alone
        info = (shared_tmp / f"aegan-evaluate-{uid}").lstat()
        assert stat.S_ISDIR(info.st_mode) and info.st_uid == uid, info
        assert stat.S_IMODE(info.st_mode) == 0o700, oct(info.st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="a folder of another user's takes root to make")
@pytest.mark.parametrize("kind", ["folder", "link"])
def test_a_folder_of_another_users_at_this_users_place_is_one_line(cli, shared_tmp, kind):
    """Its submitit pickles, which the sweep loads back, and its logs were theirs to change."""
    planted = shared_tmp / f"aegan-evaluate-{os.geteuid()}"
    planted.mkdir(mode=0o777) if kind == "folder" else planted.symlink_to(shared_tmp)
    os.lchown(planted, NOBODY, NOBODY)
    result = cli("aegan.evaluate", "-m", "run=/no/such/run,/no/other/run")
    assert_one_error_line(result, (
        f"TMPDIR={shared_tmp}: {planted}, aegan.evaluate's scratch folder for uid "
        f"{os.geteuid()}, is owned by uid {NOBODY}; it must be a folder of this user's: remove "
        "it, or set TMPDIR to a folder of yours"
    ))  # fmt: skip
    assert list(planted.iterdir()) == [] if kind == "folder" else planted.is_symlink()


def test_two_evaluation_sweeps_at_once_write_into_folders_of_their_own(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    own = evaluate_folders()[1]
    monkeypatch.setenv(sweep_stops.PARENT_ENV, "1")  # a worker of the sweep process 1 launched
    other = evaluate_folders()[1]
    assert own.name == f"sweep-{os.getpid()}" and other.name == "sweep-1", (own, other)
    assert own.parent == other.parent == tmp_path / f"aegan-evaluate-{os.geteuid()}"
