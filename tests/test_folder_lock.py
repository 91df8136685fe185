"""One process at a time in a run's folder. Two runs started into one folder each passed
the check for a trained run before the other had saved one, then wrote over each other's
record, checkpoints and metrics. The other process here is a real one holding the folder
as a run does (``aegan.engine.folder_lock``); this one trains, evaluates or sweeps into it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aegan.engine.folder_lock import FolderInUseError
from aegan.train import train
from conftest import TINY_AE, assert_one_error_line, compose_config

HOLD = """
import sys, time
from aegan.engine.folder_lock import hold_run_folder
with hold_run_folder(sys.argv[1]):
    print("held", flush=True)
    time.sleep(300)
"""


class Holder:
    """Another process holding ``folder`` until ``release()``."""

    def __init__(self, folder: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout.readline() == "held\n"

    def release(self) -> None:
        self.process.kill()
        self.process.wait(timeout=60)


@pytest.fixture
def holder():
    """``holder(folder)``: that folder held by another process for the rest of the test."""
    holders: list[Holder] = []
    yield lambda folder: holders.append(Holder(folder)) or holders[-1]
    for each in holders:
        each.release()


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_run_into_a_folder_in_use_is_refused_and_writes_nothing_there(cli, tmp_path, holder):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "train.log").write_text("the other run's\n")  # before its first checkpoint
    other = holder(run_dir)
    refused = cli("aegan.train", *TINY_AE, f"hydra.run.dir={run_dir}")
    assert_one_error_line(
        refused, f"{run_dir} is in use: another process is training or evaluating in it"
    )
    assert "or train into another folder" in refused.stderr
    assert files_in(run_dir) == {"train.log": b"the other run's\n"}  # not even a log line
    with pytest.raises(FolderInUseError):  # from a notebook: train(cfg)
        train(compose_config(TINY_AE, run_dir))
    assert files_in(run_dir) == {"train.log": b"the other run's\n"}

    other.release()  # the lock goes with its process, however that ends
    assert cli("aegan.train", *TINY_AE, f"hydra.run.dir={run_dir}").returncode == 0
    assert (run_dir / "checkpoints" / "last.pt").is_file()


def test_a_run_is_not_evaluated_while_another_process_holds_it(cli, trained_ae_run, holder):
    before = files_in(trained_ae_run)  # evaluate.log too: Hydra opens it, nothing is kept
    holder(trained_ae_run)
    refused = cli("aegan.evaluate", f"run={trained_ae_run}")
    assert_one_error_line(refused, f"{trained_ae_run} is in use")
    assert "train into another folder" not in refused.stderr
    assert files_in(trained_ae_run) == before


def test_a_sweep_job_whose_folder_is_in_use_is_passed_over(cli, tmp_path, holder):
    sweep_dir = tmp_path / "sweep"
    (sweep_dir / "1").mkdir(parents=True)
    holder(sweep_dir / "1")
    result = cli("aegan.train", "-m", *TINY_AE, "model.latent_dim=4,8", "logger=none",
                 f"hydra.sweep.dir={sweep_dir}")  # fmt: skip
    assert (sweep_dir / "0" / "metrics.json").is_file()
    assert "job 1 did not run, the sweep goes on" in result.stdout + result.stderr
    assert not (sweep_dir / "1" / "failed.json").exists()  # the folder is the other's
    assert not (sweep_dir / "1" / ".hydra").exists()


def test_an_evaluation_sweep_naming_a_run_in_use_starts_no_job(
    cli, trained_ae_run, tmp_path, holder
):
    """Its job found the run held only as it started: after the jobs before had evaluated."""
    first, held = tmp_path / "first", tmp_path / "held"
    for run in (first, held):
        shutil.copytree(trained_ae_run, run)
    before = files_in(first)
    holder(held)
    refused = cli("aegan.evaluate", "-m", f"run={first},{held}", "device=cpu",
                  "metrics=[reconstruction]", f"hydra.sweep.dir={tmp_path / 'sweep'}")  # fmt: skip
    assert_one_error_line(refused, f"error: job 1 of 2 (run={held}): {held} is in use")
    assert refused.stderr.endswith("; no job was started\n"), refused.stderr
    assert files_in(first) == before


@pytest.mark.parametrize("sweep", [False, True])
def test_a_run_or_sweep_below_a_folder_in_use_is_refused(cli, tmp_path, holder, sweep):
    """A run still in its first epoch has no checkpoint to tell it by: a second run into a
    folder inside it was trained there, and could then never be continued in its folder."""
    running = tmp_path / "run"
    running.mkdir()
    holder(running)
    inner = running / "inner"
    where = f"hydra.sweep.dir={inner}" if sweep else f"hydra.run.dir={inner}"
    refused = cli("aegan.train", *(["-m", "seed=0,1"] if sweep else []), *TINY_AE, where)
    assert_one_error_line(
        refused, f"{where} is at or inside {running}, a run's folder that another process "
        "trains or evaluates in now; choose a folder outside it"
    )  # fmt: skip
    assert not inner.exists()
