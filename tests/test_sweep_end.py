"""A sweep's end counts its own jobs: one that did nothing (refused in a folder holding an
earlier run's results, which it leaves as they were) is not read as finished from that
folder, an earlier sweep's job that this one did not run is not counted against it, and a
search whose every trial failed says which and where, not Optuna's "No trials are completed
yet". In-process, as ``python -m aegan.train -m`` runs them, on tiny data."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

import aegan.cli.hydra_job
import aegan.train
from aegan.errors import DataFileError
from aegan.sweeps.end import SWEEP_ENV
from aegan.sweeps.walk import MAX_ENTRIES
from conftest import TINY_AE

TINY = [*TINY_AE, "data.subset=200", "data.val_size=100", "logger=none"]


def swept_then_refused_twice(cli, sweep_dir, monkeypatch) -> bytes:
    """Two jobs swept into ``sweep_dir``, then swept again with ``trainer.resume=auto`` and
    their data's files said changed: both refused, which the sweep's last line says, with
    the file saying why for each. Returns job 1's metrics.json after the first sweep."""
    sweep = ["aegan.train", "-m", *TINY, "model.latent_dim=4,8", f"hydra.sweep.dir={sweep_dir}"]
    assert cli(*sweep).returncode == 0
    before = (sweep_dir / "1" / "metrics.json").read_bytes()

    def changed(*args: object, **kwargs: object) -> None:  # the data's files, since
        raise DataFileError("the data's files changed since the run trained")

    monkeypatch.setattr("aegan.train.check_same_data", changed)
    again = cli(*sweep, "trainer.resume=auto")
    assert again.returncode == 1, again.stderr[-2000:]
    assert again.stderr.splitlines()[-1] == (
        "error: 2 of 2 jobs of the sweep ended without results (job 0 did not run, job 1 did "
        f"not run); why: {sweep_dir}/.not_run/0.json, {sweep_dir}/.not_run/1.json; the "
        f"others' are kept: python -m aegan.summarize {sweep_dir}"
    )
    return before


def test_jobs_refused_in_their_trained_folders_end_the_sweep_with_exit_1(
    cli, tmp_path, monkeypatch
):
    sweep_dir = tmp_path / "sweep"
    kept = swept_then_refused_twice(cli, sweep_dir, monkeypatch)
    assert (sweep_dir / "1" / "metrics.json").read_bytes() == kept
    said = json.loads((sweep_dir / ".not_run" / "1.json").read_text())
    assert said["job"] == "1" and "files changed" in said["error"]
    # the summary says so too, with the file that says why, beside the figures kept
    text = cli("aegan.summarize", str(sweep_dir)).stdout
    assert "2 jobs: 2 not run" in text
    assert "note: job 0, 1 did not run when last swept" in text
    row = next(line for line in text.splitlines() if line.startswith("| 1 "))
    assert "| NOT RUN |" in row and "| .not_run/1.json: the data's files changed" in row
    assert (sweep_dir / "1" / "metrics.json").read_bytes() == kept
    monkeypatch.undo()
    # the next sweep is not told of this one's, and the summary lists its jobs ok again
    sweep = ["aegan.train", "-m", *TINY, "model.latent_dim=4,8", f"hydra.sweep.dir={sweep_dir}"]
    assert cli(*sweep, "trainer.resume=auto").returncode == 0
    assert "2 jobs: 2 ok" in cli("aegan.summarize", str(sweep_dir)).stdout
    assert not list((sweep_dir / ".not_run").iterdir())  # each job took its folder again


def test_an_earlier_sweeps_failed_job_is_not_this_sweeps(cli, tmp_path):
    sweep_dir = tmp_path / "sweep"
    sweep = ["aegan.train", "-m", *TINY, f"hydra.sweep.dir={sweep_dir}",
             "hydra.sweep.subdir=lr${model.optimizer.lr}"]  # fmt: skip
    first = cli(*sweep, "model.optimizer.lr=0.001,1e30")
    assert first.returncode == 1 and "(job lr1e+30 failed)" in first.stderr
    again = cli(*sweep, "model.optimizer.lr=0.001", "trainer.resume=auto")
    assert again.returncode == 0, again.stderr[-2000:]


def test_the_end_names_the_files_of_jobs_named_by_their_overrides_as_they_are(cli, tmp_path):
    """Job folders named by their overrides, one of them false: the end's line wrote the
    False of the folder's name as false, naming a train.log that is not there."""
    sweep_dir = tmp_path / "sweep"
    result = cli("aegan.train", "-m", *TINY, "evaluate.at_end=False", "model.optimizer.lr=1e30",
                 "model.latent_dim=4,8", f"hydra.sweep.dir={sweep_dir}",
                 "hydra.sweep.subdir=${hydra.job.override_dirname}")  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]
    said = result.stderr.splitlines()[-1].partition("; why: ")[2].partition("; the others'")[0]
    logs = [Path(log) for log in said.split(", ")]
    assert len(logs) == 2 and all(log.is_file() for log in logs), said
    assert all("evaluate.at_end=False" in log.parent.name for log in logs)


def test_the_end_names_jobs_named_by_their_overrides_by_their_folders(cli, tmp_path):
    """The end's line named the failed job evaluate.at_end=false,...: its folder reads
    evaluate.at_end=False,..., not to be found from the line."""
    sweep_dir = tmp_path / "sweep"
    result = cli("aegan.train", "-m", *TINY, "evaluate.at_end=false", "model.optimizer.lr=1e30",
                 f"hydra.sweep.dir={sweep_dir}", "hydra.sweep.subdir=${hydra.job.override_dirname}")  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]
    (folder,) = [p.name for p in sweep_dir.iterdir() if p.is_dir()]
    assert "evaluate.at_end=False" in folder
    assert f"(job {folder}/ failed)" in result.stderr.splitlines()[-1]


def test_a_search_whose_every_trial_failed_says_which_and_where(cli, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweeps extra")
    sweep_dir = tmp_path / "search"
    result = cli(
        "aegan.train", "-m", "hparams_search=autoencoder_optuna", "hydra.sweeper.n_trials=1",
        *TINY, "model.optimizer.lr=choice(1e30)", f"hydra.sweep.dir={sweep_dir}",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr.splitlines()[-1] == (
        "error: 1 of 1 job of the sweep ended without results (job 0 failed); why: "
        f"{sweep_dir}/0/train.log; the others' are kept: python -m aegan.summarize {sweep_dir}"
    )
    assert "No trials are completed" not in result.stderr


def test_a_search_stops_once_more_trials_failed_than_it_allows(cli, tmp_path):
    """The plugin's own default, max_failure_rate=0: the sweeper counted each failed trial's
    None and never stopped; every trial ran, then Optuna's "No trials are completed yet"."""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweeps extra")
    sweep_dir = tmp_path / "search"
    result = cli(
        "aegan.train", "-m", "hparams_search=autoencoder_optuna", "hydra.sweeper.n_trials=3",
        "hydra.sweeper.max_failure_rate=0", *TINY, "model.optimizer.lr=choice(1e30)",
        f"hydra.sweep.dir={sweep_dir}",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr.splitlines()[-1] == (
        "error: the search stopped: more trials failed than hydra.sweeper.max_failure_rate "
        "allows; 1 of 1 job of the sweep ended without results (job 0 failed); why: "
        f"{sweep_dir}/0/train.log; the others' are kept: python -m aegan.summarize {sweep_dir}"
    )
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir()) == ["0"]


def test_a_search_trial_without_a_finite_objective_is_a_failed_one(cli, tmp_path, monkeypatch):
    """Returned as None, Optuna counted it failed but never stopped on it, and the summary
    listed it ok; now it fails as any trial does, its figures kept in metrics.json."""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweeps extra")
    measured = aegan.train.training_metrics
    monkeypatch.setattr(  # as a task whose objective is NaN would give
        "aegan.train.training_metrics",
        lambda progress: {**measured(progress), "val/best_objective": math.nan},
    )
    sweep_dir = tmp_path / "search"
    result = cli(
        "aegan.train", "-m", "hparams_search=autoencoder_optuna", "hydra.sweeper.n_trials=3",
        "hydra.sweeper.max_failure_rate=0", *TINY, f"hydra.sweep.dir={sweep_dir}",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr.splitlines()[-1].startswith(
        "error: the search stopped: more trials failed than hydra.sweeper.max_failure_rate "
        "allows; 1 of 1 job of the sweep ended without results (job 0 failed)"
    )
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir()) == ["0"]
    assert "val/best_objective" in json.loads((sweep_dir / "0" / "metrics.json").read_text())
    shown = cli("aegan.summarize", str(sweep_dir))
    row = next(line for line in shown.stdout.splitlines() if line.startswith("| 0 "))
    assert "| FAILED |" in row and "NonFiniteError: val/best_objective is nan" in row


def test_a_sweep_whose_folder_is_past_the_walks_bounds_ends_with_its_line(cli, tmp_path):
    """Files of the user's beside the jobs (allowed), more than the walk of its folder looks
    at: the jobs ran, then Hydra's warning of the walk's error and exit code 0."""
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    for num in range(MAX_ENTRIES + 1):
        (sweep_dir / f"note{num}.txt").touch()
    result = cli("aegan.train", "-m", *TINY, "model.latent_dim=4", f"hydra.sweep.dir={sweep_dir}")
    assert result.returncode == 1, result.stderr[-2000:]
    assert (sweep_dir / "0" / "metrics.json").is_file()
    assert result.stderr.splitlines() == [
        f"error: the jobs of the sweep ran but cannot be counted at its end: {sweep_dir} holds "
        f"more than {MAX_ENTRIES:,} files and folders outside job folders: it is no sweep's "
        "folder, which holds one folder per job (N/.hydra/overrides.yaml); give the sweep's "
        "own folder (hydra.sweep.dir, e.g. logs/train/multiruns/DATE_TIME)"
    ]


def test_a_job_that_gets_none_of_the_sweeps_environment_is_counted_by_its_folder(
    cli, tmp_path, monkeypatch
):
    """A job under SLURM's ``sbatch --export=NONE`` gets none of the launching process's
    environment: its record said ``sweep: null``, the sweep's end did not count it, and the
    sweep exited 0 though no job ran. Now it names the sweep by the folder Hydra gives it."""
    sweep_dir = tmp_path / "sweep"
    noted = aegan.cli.hydra_job.note_not_run

    def without_environment(*args: object) -> None:  # as the job's own process would be
        os.environ.pop(SWEEP_ENV, None)
        noted(*args)

    monkeypatch.setattr("aegan.cli.hydra_job.note_not_run", without_environment)
    swept_then_refused_twice(cli, sweep_dir, monkeypatch)
    said = json.loads((sweep_dir / ".not_run" / "1.json").read_text())
    assert said["sweep"] == str(sweep_dir)
