"""What a run writes into its folder, against what is already there: a finished run resumed
keeps its final evaluation, a log file that is no regular file (or not named .log) is
refused before the run starts, a write that fails is one line naming the path, and a
folder's name is never read as an interpolation."""

from __future__ import annotations

import logging
import os
import shutil
import signal
from pathlib import Path

import pytest

import aegan
from aegan.data.image_folder import load_image_folder
from aegan.errors import CheckpointError, ConfigError
from aegan.io.files import write_json
from aegan.io.readback import read_json
from aegan.settings.overrides import literal
from aegan.signals.starting_signals import SETTING_UP
from aegan.sweeps.reader import read_sweep
from aegan.train import train
from conftest import TINY_AE, assert_one_error_line, compose_config, run_module

TEST_KEYS = {"test/mse", "test/psnr", "test/ssim", "test/bce"}


@pytest.fixture
def finished_run(tmp_path, trained_ae_run) -> Path:
    """A copy of the tiny trained run, whose metrics.json holds its final evaluation."""
    run = tmp_path / "run"
    shutil.copytree(trained_ae_run, run)
    assert read_json(run / "metrics.json").keys() >= TEST_KEYS
    return run


def test_a_finished_run_resumed_keeps_its_final_evaluation(finished_run):
    before = read_json(finished_run / "metrics.json")
    train(compose_config([*TINY_AE, "trainer.resume=auto"], finished_run))
    assert read_json(finished_run / "metrics.json") == before


def test_results_of_earlier_weights_are_kept_aside_when_training_goes_on(finished_run):
    before = read_json(finished_run / "metrics.json")
    train(compose_config([*TINY_AE, "trainer.resume=auto", "trainer.epochs=2"], finished_run))
    after = read_json(finished_run / "metrics.json")
    assert after["train/steps"] > before["train/steps"] and not TEST_KEYS & after.keys()
    assert read_json(finished_run / "metrics.json.earlier") == before


def test_the_same_figures_to_a_summations_last_digits_are_not_kept_aside(finished_run):
    """The same weights evaluated again on other threads move FD in its eighth digit: that
    was said as "other figures for gen/fd" and kept in metrics.json.earlier."""
    from aegan.engine.run_metrics import merge_metrics

    before = read_json(finished_run / "metrics.json")
    moved = {key: value * (1 + 1e-8) if key.startswith("test/") else value
             for key, value in before.items()}  # fmt: skip
    assert merge_metrics(finished_run, moved, logging.getLogger("test")) == moved
    assert not (finished_run / "metrics.json.earlier").exists()
    changed = {**moved, "test/mse": before["test/mse"] * 1.001}
    merge_metrics(finished_run, changed, logging.getLogger("test"))
    assert read_json(finished_run / "metrics.json.earlier") == before


def test_an_evaluation_made_again_keeps_the_figures_it_changes(finished_run):
    """A finished run resumed or evaluated again, with other settings or other weights: the
    figures it would write over stay in metrics.json.earlier."""
    before = read_json(finished_run / "metrics.json")
    write_json(finished_run / "metrics.json", {**before, "test/mse": 0.5, "test/only": 1.0})
    changed = read_json(finished_run / "metrics.json")
    again = [*TINY_AE, "trainer.resume=auto", "evaluate.at_end=true",
             "evaluate.metrics=[reconstruction]"]  # fmt: skip
    train(compose_config(again, finished_run))
    after = read_json(finished_run / "metrics.json")
    assert after["test/mse"] == before["test/mse"] and after["test/only"] == 1.0
    assert read_json(finished_run / "metrics.json.earlier") == changed
    train(compose_config(again, finished_run))  # the same figures again: nothing to keep
    assert not (finished_run / "metrics.json.earlier-1").exists()


@pytest.mark.parametrize("kind", ["fifo", "folder", "symlink"])
def test_a_log_file_that_is_no_regular_file_is_refused(tmp_path, kind):
    run = tmp_path / "run"
    run.mkdir()
    log_file, outside = run / "train.log", tmp_path / "elsewhere.txt"
    {"fifo": lambda: os.mkfifo(log_file), "folder": log_file.mkdir,
     "symlink": lambda: log_file.symlink_to(outside)}[kind]()  # fmt: skip
    result = run_module("aegan.train", *TINY_AE, f"hydra.run.dir={run}")  # a FIFO: no hang
    assert_one_error_line(result, f"the run's log file {log_file} cannot be opened")
    assert not outside.exists() and not (run / "checkpoints").exists()


@pytest.mark.parametrize("target", ["checkpoints/last.pt", "metrics.json", "train.log"])
def test_a_log_file_set_into_a_trained_run_is_refused(cli, finished_run, tmp_path, target):
    """hydra.job_logging's file name set to a checkpoint appended the log's lines to it; set
    to another run's train.log, this run's lines went among that run's."""
    (finished_run / "train.log").write_text("the run's own lines\n")
    before = (finished_run / target).read_bytes()
    result = cli("aegan.train", *TINY_AE, f"hydra.run.dir={tmp_path / 'new'}",
                 f"hydra.job_logging.handlers.file.filename={finished_run / target}")  # fmt: skip
    assert_one_error_line(result, f"hydra.job_logging.handlers.file.filename={finished_run / target} "
                          f"is not allowed: it is in the trained run {finished_run}")  # fmt: skip
    assert (finished_run / target).read_bytes() == before


def test_a_log_file_that_cannot_be_made_is_not_said_to_be_in_the_way(tmp_path):
    """A read-only or full disk, a folder gone: "move it away" named a file not there."""
    from aegan.io.logfile import RunLogHandler

    path = tmp_path / "gone" / "train.log"
    with pytest.raises(CheckpointError) as refused:
        RunLogHandler(str(path), delay=True)._open()
    assert str(refused.value) == (
        f"the run's log file {path} cannot be opened: No such file or directory; choose another "
        "folder: hydra.run.dir=... and run the command again"
    )


def test_a_log_file_not_named_log_is_refused(cli, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine\n")
    result = cli("aegan.train", *TINY_AE, f"hydra.run.dir={tmp_path / 'new'}",
                 f"hydra.job_logging.handlers.file.filename={notes}")  # fmt: skip
    assert_one_error_line(result, f"hydra.job_logging.handlers.file.filename={notes} is not "
                          "allowed: a log file's name must end in .log")  # fmt: skip
    assert notes.read_text() == "mine\n"


def test_a_write_that_fails_names_the_path_and_the_checkpoint_kept(tmp_path):
    run = tmp_path / "run"
    (run / "tb").mkdir(parents=True)
    (run / "tb" / "00031").write_text("x")  # where the projector writes at the last step
    with pytest.raises(CheckpointError, match=r"Not a directory while writing .*tb/00031") as err:
        train(compose_config(TINY_AE, run))
    assert f"the last good checkpoint is {run / 'checkpoints' / 'last.pt'}" in str(err.value)
    assert (run / "checkpoints" / "last.pt").is_file()


@pytest.mark.parametrize(
    "name", ["r_${oc.env:HOME}", "r_${x}", "r\\${x}", "r\\\\${x}", "r_${", "a}${b.c}}"]
)
def test_a_folder_name_is_never_an_interpolation(tmp_path, trained_ae_run, name):
    from omegaconf import OmegaConf

    node = OmegaConf.create({"path": None})
    node.path = literal(f"/x/{name}")
    assert node.path == f"/x/{name}"
    if name == "r_${oc.env:HOME}":  # load_run sets the folder it read as paths.output_dir
        run = tmp_path / name
        shutil.copytree(trained_ae_run, run)
        assert aegan.load_run(run).config.paths.output_dir == str(run)


def test_an_image_folder_larger_than_memory_is_refused_before_decoding(tmp_path, monkeypatch):
    from PIL import Image

    for i in range(4):
        Image.new("L", (8, 8), color=i).save(tmp_path / f"{i}.png")
    monkeypatch.setattr(os, "sysconf", {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 1}.__getitem__)
    with pytest.raises(ConfigError, match=r"holds 4 images: at data.image_size=64 .* GiB"):
        load_image_folder(root=str(tmp_path), image_size=64, channels=1, val_size=1,
                          split_seed=0, test_size=1)  # fmt: skip


def test_the_projector_writes_through_no_link_planted_in_the_run_folder(tmp_path):
    run, precious = tmp_path / "run", tmp_path / "precious.txt"
    precious.write_text("kept")
    planted = run / "tb" / "00031" / "test_codes"  # the projector's folder at the last step
    planted.mkdir(parents=True)
    for name in ("metadata.tsv", "tensors.tsv", "sprite.png"):
        (planted / name).symlink_to(precious)
    (run / "tb" / "projector_config.pbtxt").symlink_to(precious)
    train(compose_config(TINY_AE, run))
    assert precious.read_text() == "kept"
    assert (planted / "metadata.tsv").is_file() and not (planted / "metadata.tsv").is_symlink()


def test_ctrl_c_outside_training_is_one_line(tmp_path, monkeypatch, cli):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C while the data set is read

    monkeypatch.setattr("aegan.train.load_data", interrupted)
    result = cli("aegan.train", *TINY_AE, f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == -signal.SIGINT and "Traceback" not in result.stdout + result.stderr
    assert result.stderr == f"error: stopped by SIGINT {SETTING_UP}\n"


def test_an_evaluation_of_other_weights_leaves_none_of_the_earlier_figures(cli, finished_run):
    """``metrics=[reconstruction]`` on other weights than the earlier figures' kept their
    probe and PCA figures under the new ``eval/step``: an IWAE bound 84 nats below the
    -ELBO of other weights, as one measurement."""
    before = read_json(finished_run / "metrics.json")
    # figures of other weights: the reconstruction's and a probe's
    write_json(finished_run / "metrics.json", {**before, "eval/step": 1.0, "probe/accuracy": 0.5})
    changed = read_json(finished_run / "metrics.json")
    result = cli("aegan.evaluate", f"run={finished_run}", "metrics=[reconstruction]", "device=cpu")
    assert result.returncode == 0, result.stderr[-2000:]
    after = read_json(finished_run / "metrics.json")
    assert after["eval/step"] == before["eval/step"] and after.keys() >= TEST_KEYS
    assert not {k for k in after if k.startswith(("probe/", "pca/"))}
    assert after["train/steps"] == before["train/steps"]  # training's own figures stay
    assert read_json(finished_run / "metrics.json.earlier") == changed
    assert "with figures of the weights of step 1, is kept as" in result.stdout + result.stderr


class Killed(BaseException):
    """What SIGKILL or the kernel's out-of-memory killer leaves: nothing after it runs."""


def test_a_run_killed_in_its_final_evaluation_is_unfinished_until_evaluated(
    finished_run, monkeypatch, cli
):
    """Training's figures are written before the final evaluation: a run killed in it was
    listed ok by aegan.summarize and counted by the comparison table, with no test figures."""

    def killed(*args, **kwargs):
        raise Killed

    (finished_run / ".hydra").mkdir(exist_ok=True)  # what makes a folder a job of a sweep
    (finished_run / ".hydra" / "overrides.yaml").write_text("[]\n")
    write_json(finished_run / "failed.json", {"type": "ConfigError", "error": "an earlier try"})
    monkeypatch.setattr("aegan.train.evaluate_at_end", killed)
    with pytest.raises(Killed):
        more = ["trainer.resume=auto", "trainer.epochs=2", "evaluate.at_end=true"]
        train(compose_config([*TINY_AE, *more, "evaluate.metrics=[reconstruction]"], finished_run))
    (row,) = read_sweep(finished_run)
    assert row["status"] == "unfinished" and "killed in its final evaluation" in row["error"]
    assert not (finished_run / "failed.json").exists()  # the earlier try's: this one trained
    monkeypatch.undo()
    evaluated = cli("aegan.evaluate", f"run={finished_run}")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    (row,) = read_sweep(finished_run)
    assert row["status"] == "ok" and row.keys() >= TEST_KEYS
    assert not (finished_run / "evaluating.json").exists()


@pytest.mark.parametrize("name", [".hydra", "tb", "samples"])
def test_a_link_into_a_trained_run_is_refused(cli, trained_ae_run, tmp_path, name):
    """A new run whose .hydra/ (tb/, samples/) was a link into a trained run wrote its record
    over that run's (its curves, its sample grids) and exited 0."""
    trained = shutil.copytree(trained_ae_run, tmp_path / "trained")
    (trained / name).mkdir(exist_ok=True)  # the autoencoder keeps no samples/
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / name).symlink_to(trained / name, target_is_directory=True)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in (trained / name).rglob("*"))
    result = cli("aegan.train", *TINY_AE, f"hydra.run.dir={folder}")
    assert_one_error_line(result, f"{folder / name} is a link to {trained / name}, inside the "
                                  f"trained run {trained}: this run would write over")  # fmt: skip
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (trained / name).rglob("*")) == before


@pytest.mark.parametrize("name", [".hydra/config.yaml", ".hydra/overrides.yaml"])
def test_a_loop_of_links_in_a_runs_record_is_one_line(cli, finished_run, name):
    """A record file that links to itself was a RuntimeError's traceback for an evaluation
    and a resume of its run, from the check of where its links lead."""
    (finished_run / ".hydra").mkdir(exist_ok=True)
    (finished_run / name).symlink_to(finished_run / name)
    last = (finished_run / "checkpoints" / "last.pt").read_bytes()
    said = f"{finished_run / name} is a loop of links, where a run keeps a file: remove it"
    assert_one_error_line(cli("aegan.evaluate", f"run={finished_run}"), said)
    more = ["trainer.resume=auto", "trainer.epochs=2", f"hydra.run.dir={finished_run}"]
    assert_one_error_line(cli("aegan.train", *TINY_AE, *more), said)
    assert (finished_run / "checkpoints" / "last.pt").read_bytes() == last
