"""Links in a run's folder read back: a checkpoint reached through a link into another
trained run (its ``last.pt``, its ``checkpoints/``), or a link to a file outside the run's
folder, is not this run's weights for any reader (``aegan.evaluate``, ``load_run``,
``trainer.resume``); a link that stays within the run, or a checkpoints folder moved to
another disk, is the run's own. The link's target is only read, never written."""

from __future__ import annotations

import logging
import os

import pytest
from checkpoint_task import a_state

from aegan.engine.checkpoint import (
    load_checkpoint,
    resolve_checkpoint,
    run_dir_of,
    save_checkpoint,
)
from aegan.engine.run_record import check_in_its_run
from aegan.errors import CheckpointError
from aegan.evaluate_settings import log_dir_of


def _trained(folder):
    """A run folder whose checkpoints/ holds step 5 (its last.pt and step-00000005.pt)."""
    save_checkpoint(a_state(), folder / "checkpoints", step=5, keep=3, is_best=False)
    return folder


@pytest.fixture
def runs(tmp_path):
    """(another trained run, this run's folder with its record and no last.pt yet)."""
    other, this = _trained(tmp_path / "other"), tmp_path / "this"
    (this / ".hydra").mkdir(parents=True)
    (this / ".hydra" / "config.yaml").write_text("model:\n  name: tiny\n")
    return other, this


def _its_last_a_link(other, this, tmp_path):
    (this / "checkpoints").mkdir()
    (this / "checkpoints" / "step-00000002.pt").write_bytes(b"its own, earlier")
    os.symlink(other / "checkpoints" / "last.pt", this / "checkpoints" / "last.pt")
    return this / "checkpoints" / "last.pt", other / "checkpoints" / "last.pt", other


def _its_checkpoints_a_link(other, this, tmp_path):
    os.symlink(other / "checkpoints", this / "checkpoints")
    return this / "checkpoints", other / "checkpoints", other


def _a_link_out_of_the_run(other, this, tmp_path):
    loose = _trained(tmp_path / "loose") / "checkpoints"  # no run's: a folder's own
    (loose.parent / "checkpoints").rename(tmp_path / "kept")
    (this / "checkpoints").mkdir()
    os.symlink(tmp_path / "kept" / "last.pt", this / "checkpoints" / "last.pt")
    return this / "checkpoints" / "last.pt", tmp_path / "kept" / "last.pt", None


@pytest.mark.parametrize(
    "link", [_its_last_a_link, _its_checkpoints_a_link, _a_link_out_of_the_run]
)
def test_a_checkpoint_linked_from_elsewhere_is_not_this_runs(runs, tmp_path, link):
    """The other run's last.pt, of the same settings, was evaluated as this run's, and a
    resume continued its weights as this run's."""
    other, this = runs
    link_path, target, holder = link(other, this, tmp_path)
    before = {p: p.read_bytes() for p in (other / "checkpoints").iterdir()}
    checkpoint = resolve_checkpoint(this)  # aegan.evaluate run=this, load_run, resume
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(checkpoint)
    link = "a link" if link_path == checkpoint else f"behind the link {link_path}"
    where = f"inside the trained run {holder}" if holder else f"outside the run's folder {this}"
    assert str(caught.value) == (
        f"{checkpoint} is {link} to {target}, {where}; it is not this run's: remove the "
        "link, or name the file it leads to"
    )
    assert {p: p.read_bytes() for p in (other / "checkpoints").iterdir()} == before
    load_checkpoint(resolve_checkpoint(target))  # named itself, it is read


def test_links_that_stay_the_runs_own_are_followed(runs, tmp_path):
    """A last.pt linked to a step of its own folder, in a checkpoints folder that is a link
    to another disk (no run's folder)."""
    _, this = runs
    disk = _trained(tmp_path / "disk") / "checkpoints"
    (disk / "last.pt").unlink()
    os.symlink("step-00000005.pt", disk / "last.pt")
    os.rename(disk, tmp_path / "bigger")
    os.symlink(tmp_path / "bigger", this / "checkpoints")
    assert load_checkpoint(resolve_checkpoint(this))["step"] == 5


def test_a_record_linked_from_another_run_is_not_compared_with(runs, caplog):
    """Its record compared with, another run's record would pass that run's weights."""
    other, this = runs
    (other / ".hydra").mkdir()
    (other / ".hydra" / "config.yaml").write_text("model:\n  name: vae\n")
    record = this / ".hydra" / "config.yaml"
    record.unlink()
    os.symlink(other / ".hydra" / "config.yaml", record)
    with caplog.at_level(logging.WARNING):
        check_in_its_run(this / "checkpoints" / "last.pt", {"choices": {"model": "tiny"}})
    assert [r.getMessage() for r in caplog.records] == [
        f"{record}: a link to {other / '.hydra' / 'config.yaml'}, inside the trained run "
        f"{other}, not the run's own record; the checkpoints of its run are not compared with "
        "it, their own records rebuild the run"
    ]


@pytest.mark.parametrize("given", ["last.pt", "."])
def test_a_checkpoint_named_from_its_own_folder_is_of_its_run(runs, monkeypatch, given):
    """``aegan.evaluate run=last.pt`` in RUN/checkpoints took that folder for the run: it
    held it, not the run's folder (a training there went on beside it), wrote evaluate.log
    into it, and the run's record and links went unchecked."""
    other, this = runs
    _its_last_a_link(other, this, this)
    monkeypatch.chdir(this / "checkpoints")
    checkpoint = resolve_checkpoint(given)
    assert run_dir_of(checkpoint) == this and log_dir_of(given) == str(this)
    with pytest.raises(CheckpointError, match="is a link to .* inside the trained run"):
        check_in_its_run(checkpoint, {"choices": {"model": "tiny"}})


def test_runs_whose_checkpoints_link_to_one_folder_do_not_take_each_others(tmp_path):
    """Both runs' checkpoints/ led to one folder on another disk: the second run resumed the
    first's weights as its own, and its saves replaced the first run's last.pt and best.pt."""
    shared, first, second = tmp_path / "disk", tmp_path / "first", tmp_path / "second"
    config = {"seed": 3, "paths": {"output_dir": str(first)}}
    save_checkpoint(a_state(config=config), shared, step=5, keep=3, is_best=True)
    for run in (first, second):
        run.mkdir()
        os.symlink(shared, run / "checkpoints")
    assert load_checkpoint(resolve_checkpoint(first))["step"] == 5
    checkpoint = resolve_checkpoint(second)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(checkpoint)
    assert str(caught.value) == (
        f"{checkpoint} lies behind the link {second / 'checkpoints'} to {shared}, where the "
        f"run {first} keeps its checkpoints too, and was trained by that run; it is not this "
        "run's: give each run a checkpoints folder of its own"
    )
