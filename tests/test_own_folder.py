"""A run or a sweep goes in a folder of its own: a run trained into a folder of other folders
(``/``, a folder of runs) made it a trained run's folder, and every run below it one inside
that run, refused ever after. A folder holding what a run left before its first checkpoint,
files of the user's (a requeued job's slurm-*.out, notes, a study's database), or a trained
run with the user's notes and plots beside it, is used as before."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aegan.train import train
from conftest import TINY_AE, assert_one_error_line, compose_config


@pytest.fixture
def folder_of_runs(tmp_path, trained_ae_run) -> Path:
    parent = tmp_path / "parent"
    shutil.copytree(trained_ae_run, parent / "logs" / "train" / "runs" / "one")
    return parent


def test_a_run_into_a_folder_of_runs_is_refused_and_they_go_on(cli, folder_of_runs):
    result = cli("aegan.train", *TINY_AE, f"hydra.run.dir={folder_of_runs}")
    assert_one_error_line(
        result, f"hydra.run.dir={folder_of_runs} is not allowed: it holds folders other than a "
        "run's ('logs'); a run goes in a folder of its own: choose a new or empty one"
    )  # fmt: skip
    assert [p.name for p in folder_of_runs.iterdir()] == ["logs"]  # no .hydra, no train.log
    run = folder_of_runs / "logs" / "train" / "runs" / "one"
    result = cli("aegan.train", *TINY_AE, "trainer.resume=auto", "trainer.epochs=2",
                 f"hydra.run.dir={run}")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_sweep_into_a_folder_of_runs_is_refused(cli, folder_of_runs):
    """Its reader would take the runs below for its jobs; a sweep into / read the disk."""
    result = cli("aegan.train", "-m", *TINY_AE, "seed=1,2", f"hydra.sweep.dir={folder_of_runs}")
    assert_one_error_line(
        result, f"hydra.sweep.dir={folder_of_runs} is not allowed: it holds folders other than "
        "a sweep's ('logs'); a sweep goes in a folder of its own"
    )  # fmt: skip
    assert [p.name for p in folder_of_runs.iterdir()] == ["logs"]


def test_a_folder_holding_what_a_run_left_before_its_first_checkpoint_is_used(cli, tmp_path):
    run = tmp_path / "run"
    for folder in (".hydra", "checkpoints", "tb"):
        (run / folder).mkdir(parents=True)
    for name in ("train.log", "failed.json", "metrics.json.damaged", ".metrics.json.x.tmp",
                 "slurm-123.out"):  # fmt: skip
        (run / name).write_text("{}")
    result = cli("aegan.train", *TINY_AE, "data.subset=256", f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (run / "checkpoints" / "last.pt").is_file()


def test_a_trained_run_with_notes_beside_it_goes_on(cli, tmp_path, trained_ae_run):
    run = shutil.copytree(trained_ae_run, tmp_path / "run")
    (run / "notes.md").write_text("lr too high?")
    (run / "figures").mkdir()
    result = cli("aegan.train", *TINY_AE, "trainer.resume=auto", "trainer.epochs=2",
                 f"hydra.run.dir={run}")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_sweep_whose_jobs_trained_nothing_is_run_again(cli, tmp_path):
    """A search writes no multirun.yaml: jobs that failed left only their folders."""
    sweep = tmp_path / "sweep"
    for job in ("0", "1"):
        (sweep / job / ".hydra").mkdir(parents=True)
    (sweep / "study.db").write_bytes(b"")  # hydra.sweeper.storage's, say
    (sweep / "2").mkdir()  # made by Hydra, the job killed before its .hydra
    result = cli("aegan.train", "-m", *TINY_AE, "data.subset=256", "seed=1,2",
                 f"hydra.sweep.dir={sweep}")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert all((sweep / job / "checkpoints" / "last.pt").is_file() for job in ("0", "1"))


@pytest.mark.parametrize("where", ["inside", "around", "through a link"])
def test_a_sweep_inside_or_around_another_sweep_is_refused(cli, tmp_path, where):
    """Into sweep/sub (or a link to a folder in it), or into a folder holding only that
    sweep (whose folder read as a job's): each ran, and the outer summary listed the other
    sweep's jobs as its own."""
    sweep = tmp_path / "outer" / "sweep"
    (sweep / "0" / ".hydra").mkdir(parents=True)
    (sweep / "0" / ".hydra" / "overrides.yaml").write_text("- seed=0\n")
    (sweep / "multirun.yaml").write_text("{}\n")
    (sweep / "empty").mkdir()
    (tmp_path / "link").symlink_to(sweep / "empty")
    folder = {"inside": sweep / "sub", "around": tmp_path / "outer"}.get(where, tmp_path / "link")
    result = cli("aegan.train", "-m", *TINY_AE, "seed=1,2", f"hydra.sweep.dir={folder}")
    message = (
        "is not allowed: it holds folders other than a sweep's ('sweep')"
        if where == "around"
        else f"is inside the sweep {sweep}, whose summary would read its jobs as that sweep's"
    )
    assert_one_error_line(result, f"hydra.sweep.dir={folder} {message}")
    assert sorted(p.name for p in sweep.iterdir()) == ["0", "empty", "multirun.yaml"]
    assert not list((sweep / "empty").iterdir())
    assert [p.name for p in (tmp_path / "outer").iterdir()] == ["sweep"]


def test_a_run_whose_checkpoints_are_on_another_disk_continues_in_its_folder(
    tmp_path, trained_ae_run
):
    """Its checkpoints folder a link to another disk's (the layout check follows such links),
    trainer.resume=RUN_DIR hydra.run.dir=RUN_DIR read "RUN_DIR already holds a trained run":
    the checkpoint's folder, resolved to that disk, was compared with the run's."""
    run, elsewhere = tmp_path / "run", tmp_path / "disk" / "run-checkpoints"
    shutil.copytree(trained_ae_run, run)
    elsewhere.parent.mkdir()
    (run / "checkpoints").rename(elsewhere)
    (run / "checkpoints").symlink_to(elsewhere)
    resumed = [*TINY_AE, "trainer.epochs=2", "evaluate.at_end=false", f"trainer.resume={run}"]
    assert train(compose_config(resumed, run))["train/epochs"] == 2
    assert (elsewhere / "step-00000062.pt").is_file() and (run / "checkpoints").is_symlink()


@pytest.mark.parametrize("what", ["a folder", "a link"])
def test_a_sweeps_record_in_place_of_its_file_is_named_before_the_sweep(cli, tmp_path, what):
    """multirun.yaml a folder in a sweep continued with trainer.resume=auto: "the output
    folder cannot be created (Is a directory: ...)", after the checks of every job."""
    sweep, elsewhere = tmp_path / "sweep", tmp_path / "notes.yaml"
    (sweep / "0" / ".hydra").mkdir(parents=True)
    (sweep / "0" / ".hydra" / "overrides.yaml").write_text("- seed=1\n")
    elsewhere.write_text("kept\n")
    if what == "a folder":
        (sweep / "multirun.yaml").mkdir()
    else:
        (sweep / "multirun.yaml").symlink_to(elsewhere)
    result = cli("aegan.train", "-m", *TINY_AE, "seed=1,2", "trainer.resume=auto",
                 f"hydra.sweep.dir={sweep}")  # fmt: skip
    assert_one_error_line(
        result, f"hydra.sweep.dir={sweep} is not allowed: its multirun.yaml is {what}, where a "
        "sweep writes its record"
    )  # fmt: skip
    assert elsewhere.read_text() == "kept\n" and sorted(p.name for p in sweep.iterdir()) == [
        "0", "multirun.yaml"
    ]  # fmt: skip


def test_a_folder_is_judged_where_it_leads(cli, tmp_path, trained_ae_run):
    """RUN/../beside is beside the run, not inside it: it was refused as "inside the trained
    run"; a link into a trained run leads inside it."""
    beside = f"{trained_ae_run}/../beside-{tmp_path.name}"
    assert (
        cli("aegan.train", *TINY_AE, "data.subset=256", f"hydra.run.dir={beside}").returncode == 0
    )
    (tmp_path / "link").symlink_to(trained_ae_run)
    refused = cli("aegan.train", *TINY_AE, f"hydra.run.dir={tmp_path / 'link' / 'sub'}")
    assert_one_error_line(refused, f"is inside the trained run {trained_ae_run}; choose a folder")
