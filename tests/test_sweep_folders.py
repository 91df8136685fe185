"""A sweep's folder: one holding another sweep is swept again only to continue it with its own
grid; an output folder that is no folder of its own, a trained run's record and a folder named
from a swept key are refused in one line before the first job."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, TINY_AE, assert_one_error_line


def test_a_folder_holding_a_sweep_is_swept_again_only_to_continue_it(cli, tmp_path):
    sweep_dir = tmp_path / "sweep"
    (sweep_dir / "0").mkdir(parents=True)
    (sweep_dir / "multirun.yaml").write_text("earlier: sweep\n")
    refused = cli(
        "aegan.train", "-m", *TINY_AE, "model.latent_dim=4", f"hydra.sweep.dir={sweep_dir}"
    )
    assert_one_error_line(refused, f"hydra.sweep.dir={sweep_dir} already holds a sweep")
    assert (sweep_dir / "multirun.yaml").read_text() == "earlier: sweep\n"
    assert not (sweep_dir / "0" / "failed.json").exists()


def recorded_sweep(folder, *job_overrides: str):
    """``folder`` as a sweep leaves its jobs' records: one override per job."""
    for num, override in enumerate(job_overrides):
        (folder / str(num) / ".hydra").mkdir(parents=True)
        (folder / str(num) / ".hydra" / "overrides.yaml").write_text(f"- {override}\n")
    (folder / "multirun.yaml").write_text("earlier: sweep\n")
    return folder


@pytest.mark.parametrize(
    ("recorded", "grid", "message"),
    [  # another grid in the same folders: Hydra would replace multirun.yaml, each job
       # whose values moved would be refused into a trained folder, the sweep end as if all ran
     (["model.latent_dim=8"], "model.latent_dim=4,16",
      "holds a sweep whose job 0 trained with model.latent_dim=8; this sweep's job 0 has "
      "model.latent_dim=4"),
     # a smaller one: multirun.yaml and jobs.json were written anew for the one job, and job
     # 1's planned settings were gone from the sweep's record
     (["trainer.epochs=1", "trainer.epochs=2"], "trainer.epochs=1",
      "holds a sweep with job 1; this grid has 1 job: continue a sweep with its own grid")],
)  # fmt: skip
def test_a_sweep_is_continued_only_with_its_own_grid(cli, tmp_path, recorded, grid, message):
    sweep_dir = recorded_sweep(tmp_path / "sweep", *recorded)
    refused = cli("aegan.train", "-m", *TINY_AE, grid, "trainer.resume=auto",
                  f"hydra.sweep.dir={sweep_dir}")  # fmt: skip
    assert_one_error_line(refused, f"hydra.sweep.dir={sweep_dir} {message}")
    assert (sweep_dir / "multirun.yaml").read_text() == "earlier: sweep\n"
    assert sorted(p.name for p in (sweep_dir / "0").iterdir()) == [".hydra"]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["-m", "model.latent_dim=4", "hydra.sweep.subdir="], "hydra.sweep.subdir='' is not allowed"),
     # one folder for two jobs: the second failed into the first's, and the sweep exited 0
     (["-m", "seed=0,1", "hydra.sweep.subdir=same"],
      "hydra.sweep.subdir='same' is not allowed: jobs that differ only in seed would train into one folder"),
     (["-m", "seed=0,1", "model.latent_dim=4,8", "hydra.sweep.subdir=s${seed}"],
      "jobs that differ only in model.latent_dim would train into one folder"),
     # every swept key named, but one value twice, as written or as parsed
     (["-m", "seed=0,1,0", "hydra.sweep.subdir=s${seed}"],
      "hydra.sweep.subdir='s${seed}' is not allowed: two jobs (seed=0) would train into one folder"),
     (["-m", "model.optimizer.lr=1e-3,0.001", "hydra.sweep.subdir=${model.optimizer.lr}"],
      "two jobs (model.optimizer.lr=0.001) would train into one folder"),
     (["task_name=../../x"], "task_name='../../x' is not allowed: it must be one folder name"),
     # jobs trained outside the sweep's folder, where aegan.summarize found none
     (["-m", "seed=0,1", "hydra.sweep.subdir=../x${hydra.job.num}"],
      "hydra.sweep.subdir=../x${hydra.job.num} is not allowed: each job's folder must be inside hydra.sweep.dir"),
     (["-m", "seed=0,1", "hydra.sweep.subdir=/proc/aegan-x${hydra.job.num}"],
      "hydra.sweep.subdir=/proc/aegan-x${hydra.job.num} is not allowed: each job's folder must be inside"),
     # ... or where an interpolation resolves to such a folder (a data folder, a trained run)
     (["-m", "data.root=/proc/aegan-a,/proc/aegan-b", "hydra.sweep.subdir=${data.root}"],
      "job 0 of 2 (data.root=/proc/aegan-a): hydra.sweep.subdir=${data.root} (for this job: "
      "'/proc/aegan-a') is not allowed: each job's folder must be inside hydra.sweep.dir"),
     (["-m", "seed=0,1", "hydra.sweep.subdir=${oc.env:HOME}/x${hydra.job.num}"],
      "(for this job: '/"),
     (["-m", "model.latent_dim=4", "hydra.sweep.subdir=."],
      "hydra.sweep.subdir=. is not allowed: each job's folder must be inside"),
     # each job trained where its summary and the sweep's end found none: "not started"
     (["-m", "seed=0,1", "hydra.sweep.subdir=.x${hydra.job.num}"],
      "hydra.sweep.subdir='.x${hydra.job.num}' is not allowed: each job's folder would be "
      "hidden (a name from .), where summaries look for no job"),
     (["-m", "seed=0,1", "hydra.sweep.subdir=${hydra.job.num}/.x"], "would be hidden"),
     (["-m", "seed=0,1", "hydra.sweep.subdir=x/${hydra.job.num}/a/b/c/d/e"],
      "each job's folder would be more than 6 folders deep, below where summaries look"),
     (["-m", "seed=0,1", "hydra.sweep.subdir='x\n${hydra.job.num}'"],
      "hydra.sweep.subdir='x\\n${hydra.job.num}' is not allowed: each job's folder would be "
      "named with a control character")],
)  # fmt: skip
def test_an_output_folder_that_is_no_folder_of_its_own_is_refused(cli, tmp_path, args, message):
    where = "hydra.sweep.dir" if "-m" in args else "hydra.run.dir"
    refused = cli("aegan.train", *args[:1], *TINY_AE, *args[1:], f"{where}={tmp_path / 'out'}")
    assert_one_error_line(refused, message)
    written = {p.name for p in tmp_path.rglob("*")}
    assert not {"checkpoints", "multirun.yaml", "failed.json", "x"} & written


@pytest.mark.parametrize("module", ["aegan.train", "aegan.bench"])
def test_an_empty_run_folder_is_refused_before_the_current_folder_is_written(tmp_path, module):
    """Refused before Hydra opens its log there: a train.log with the error line was left."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    refused = subprocess.run(
        [sys.executable, "-m", module, *TINY_AE, "hydra.run.dir="], cwd=tmp_path,
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert_one_error_line(refused, "hydra.run.dir='' is not allowed")
    assert list(tmp_path.iterdir()) == []


def test_a_grid_in_the_sweepers_own_params_must_be_told_apart_too(cli, tmp_path):
    """``hydra.sweeper.params`` in the user's config is swept like the command line's."""
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    (tmp_path / "conf" / "experiment" / "grid.yaml").write_text(
        "# @package _global_\nhydra:\n  sweeper:\n    params:\n      seed: 0,1\n"
    )
    refused = cli(
        "aegan.train", "-m", *TINY_AE, f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
        "experiment=grid", "hydra.sweep.subdir=same", f"hydra.sweep.dir={tmp_path / 'out'}",
    )  # fmt: skip
    assert_one_error_line(refused, "jobs that differ only in seed would train into one folder")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("how", ["run", "sweep", "evaluate"])
def test_hydras_own_record_is_refused_before_it_replaces_a_trained_runs(
    cli, trained_ae_run, tmp_path, how
):
    """Hydra wrote hydra.output_subdir as the job started: a run refused for the trained
    folder, a sweep continued, or aegan.evaluate (whose folder is the run's own) replaced
    that run's .hydra/config.yaml with its own config."""
    run = shutil.copytree(trained_ae_run, tmp_path / "run")
    (run / ".hydra").mkdir()
    (run / ".hydra" / "config.yaml").write_text("the run's own record\n")
    record = {p.name: p.read_bytes() for p in (run / ".hydra").iterdir()}
    args = {
        "run": ["aegan.train", *TINY_AE, f"hydra.run.dir={run}"],
        "sweep": ["aegan.train", "-m", *TINY_AE, "trainer.resume=auto", "hydra.sweep.subdir=run",
                  f"hydra.sweep.dir={tmp_path}"],
        "evaluate": ["aegan.evaluate", f"run={run}", "device=cpu", "metrics=[reconstruction]"],
    }[how]  # fmt: skip
    refused = cli(*args, "hydra.output_subdir=.hydra")
    assert_one_error_line(
        refused, "hydra.output_subdir=.hydra is not allowed: Hydra would write it"
    )
    assert {p.name: p.read_bytes() for p in (run / ".hydra").iterdir()} == record
    guard = "keep_run_record" if how == "evaluate" else "check_sweep"
    refused = cli(*args, "hydra.output_subdir=.hydra", f"~hydra.callbacks.{guard}")
    assert_one_error_line(refused, f"~hydra.callbacks.{guard} is not allowed: hydra.callbacks."
                          f"{guard} checks the run's folder before Hydra writes there")  # fmt: skip
    assert {p.name: p.read_bytes() for p in (run / ".hydra").iterdir()} == record


@pytest.mark.parametrize(
    ("swept", "message"),
    [(["paths.log_dir={a},{b}"], "paths.log_dir is swept, and hydra.sweep.dir is made from it"),
     (["task_name=x,y", "paths.log_dir={a}"], "task_name is swept, and hydra.sweep.dir is made from it"),
     (["seed=0,1", "hydra.sweep.dir={a}/s${{seed}}"], "seed is swept, and hydra.sweep.dir is made from it")],
)  # fmt: skip
def test_a_sweep_folder_made_from_a_swept_key_is_refused(cli, tmp_path, swept, message):
    """Each job resolved its own sweep folder: multirun.yaml lay apart from every job, and
    aegan.summarize and the sweep's end found none of them."""
    args = [arg.format(a=tmp_path / "a", b=tmp_path / "b") for arg in swept]
    refused = cli("aegan.train", "-m", *TINY_AE, *args)
    assert_one_error_line(refused, message)
    assert list(tmp_path.iterdir()) == []


def test_a_searchs_folder_is_not_swept_again(cli, tmp_path):
    """Optuna writes no multirun.yaml: the same search again trained into its folder; and
    with trainer.resume=auto (a requeued search), each trial it drew anew was refused in an
    earlier trial's folder, trained with other values, and the sweep ended with exit code 0."""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweeps extra")
    sweep_dir = tmp_path / "search"
    search = ["aegan.train", "-m", "hparams_search=autoencoder_optuna",
              "hydra.sweeper.n_trials=1", *TINY_AE, f"hydra.sweep.dir={sweep_dir}"]  # fmt: skip
    first = cli(*search, "data.subset=640")
    assert first.returncode == 0, first.stderr[-2000:]
    job = sweep_dir / "0"
    before = {p.relative_to(job): p.read_bytes() for p in job.rglob("*") if p.is_file()}
    for again in ([], ["trainer.resume=auto", "hydra.sweeper.sampler.seed=5"]):
        refused = cli(*search, "data.subset=640", *again)
        assert_one_error_line(
            refused, f"hydra.sweep.dir={sweep_dir} already holds a sweep (the trained job 0/): "
            "a search is not continued in its folder, where each trial it draws would train in "
            "an earlier trial's, with other values; choose another folder"
        )  # fmt: skip
    after = {p.relative_to(job): p.read_bytes() for p in job.rglob("*") if p.is_file()}
    assert after == before
