"""The sweeper's and launcher's own settings (``hydra.sweeper.*``, ``hydra.launcher.*``) that
their plugins cannot use: one line naming the key before the first job, no sweep folder.
Each was a traceback (ZeroDivisionError, AssertionError, a database driver's), an error
with a wrong hint, or, for ``direction=maximize``, a study that searched for the worst
model. In-process, as ``python -m aegan.train -m`` runs them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from aegan.sweep_plugins import check_sweep_settings
from conftest import REPO, TINY_AE, assert_one_error_line

OPTUNA = ["hparams_search=autoencoder_optuna", "hydra.sweeper.n_trials=1"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [([*OPTUNA, "hydra.sweeper.n_trials=-1"], "hydra.sweeper.n_trials=-1 is not allowed"),
     ([*OPTUNA, "hydra.sweeper.n_jobs=0"], "hydra.sweeper.n_jobs=0 is not allowed"),
     ([*OPTUNA, "hydra.sweeper.max_failure_rate=2"],
      "hydra.sweeper.max_failure_rate=2.0 is not allowed: it must be a number in [0, 1]"),
     ([*OPTUNA, "hydra.sweeper.direction=maximize"],
      "hydra.sweeper.direction=maximize is not allowed: aegan.train returns one objective"),
     ([*OPTUNA, "hydra.sweeper.direction=up"], "hydra.sweeper.direction=up is not allowed"),
     ([*OPTUNA, "hydra.sweeper.storage=abc"],
      "hydra.sweeper.storage='abc' is not allowed: it must be null (in memory) or a database URL"),
     ([*OPTUNA, "hydra.sweeper.storage=sqlite:////nonexistent/study.db"],
      "its folder /nonexistent is not there"),
     # sqlite3's "unable to open database file"
     ([*OPTUNA, "hydra.sweeper.storage=sqlite:////proc/study.db"],
      "hydra.sweeper.storage=sqlite:////proc/study.db is not allowed: its folder /proc takes no "
      "new file"),
     # TPESampler's "Seed must be between 0 and 2**32 - 1", naming neither the setting nor seed
     ([*OPTUNA, "seed=4294967296"], "error: seed=4294967296 is not allowed: it must be an "
      "integer in [0, 4294967295] (Optuna's sampler takes it)"),
     ([*OPTUNA, "hydra.sweeper.sampler.seed=-1"], "hydra.sweeper.sampler.seed=-1 is not allowed"),
     # a search param's key has dots: the key typed was listed as one of the settings
     ([*OPTUNA, "hydra.sweeper.params.model.optimizer.lr=0.01"], "hydra.sweeper.params.model... "
      "is not a setting: a search's params are named with dots (model.latent_dim, "
      "model.optimizer.lr), which an override cannot reach; give it on the command line "
      "instead: model.optimizer.lr=..."),
     (["model.latent_dim=8,16", "hydra.sweeper.max_batch_size=0"],
      "hydra.sweeper.max_batch_size=0 is not allowed"),
     (["hydra/launcher=joblib", "hydra.launcher.n_jobs=0", "model.latent_dim=8,16"],
      "hydra.launcher.n_jobs=0 is not allowed: it must be the number of jobs at once, or -1"),
     # joblib's "prefer=abc is not a valid backend hint", without the key
     (["hydra/launcher=joblib", "hydra.launcher.prefer=abc", "model.latent_dim=8,16"],
      "hydra.launcher.prefer=abc is not allowed: it must be processes or threads"),
     # joblib's "inconsistent settings" or "does not support shared memory", after multirun.yaml
     (["hydra/launcher=joblib", "hydra.launcher.require=sharedmem", "model.latent_dim=8,16"],
      "hydra.launcher.require=sharedmem is not allowed: it must be null: Hydra's joblib "
      "launcher runs loky, which shares no memory"),
     (["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=0", "model.latent_dim=8,16"],
      "hydra.launcher.timeout_min=0 is not allowed"),
     ([*OPTUNA, "hydra.sweep.subdir=lr${model.optimizer.lr}"],
      "hydra.sweep.subdir='lr${model.optimizer.lr}' is not allowed: the sweeper picks each job's values"),
     # a plugin's setting it does not have, or one Hydra cannot set: each was a traceback
     (["+hydra.launcher.n_job=2", "model.latent_dim=8,16"],
      "hydra.launcher.n_job is not a setting of BasicLauncher"),
     # joblib's launcher takes any keyword and passed this one on to be ignored
     (["hydra/launcher=joblib", "+hydra.launcher.n_job=2", "model.latent_dim=8,16"],
      "hydra.launcher.n_job is not a setting of JoblibLauncher; did you mean hydra.launcher.n_jobs?"),
     (["hydra/launcher=submitit_local", "+hydra.launcher.timeout=5", "model.latent_dim=8,16"],
      "hydra.launcher.timeout is not a setting of LocalLauncher; did you mean hydra.launcher.timeout_min?"),
     (["+hydra.sweeper.max_batchsize=1", "model.latent_dim=8,16"],
      "hydra.sweeper.max_batchsize is not a setting of BasicSweeper"),
     # the basic sweeper's params are null: "Unexpected type for root: NoneType", or
     # "'NoneType' object has no attribute 'get'"
     (["hydra.sweeper.params.seed='0,1'"],
      "the override hydra.sweeper.params.seed='0,1' cannot be applied: hydra.sweeper.params is "
      "null here; sweep a setting on the command line (seed=A,B)"),
     (["+hydra.sweeper.params={seed:'0,1'}"], "hydra.sweeper.params is null here; sweep a setting")],
)  # fmt: skip
def test_a_sweep_setting_its_plugin_cannot_use_is_one_line_before_any_job(
    cli, tmp_path, overrides, message
):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweeps extra")
    sweep_dir = tmp_path / "sweep"
    refused = cli("aegan.train", "-m", *TINY_AE, *overrides, f"hydra.sweep.dir={sweep_dir}")
    assert_one_error_line(refused, message)
    assert not sweep_dir.exists()


@pytest.mark.parametrize(
    ("storage", "message"),
    [  # sqlite3's "file is not a database [SQL: ...]", optuna's "Failed to import DB access
       # module", neither naming the setting, each after the study began
        ("sqlite:///{tmp}/garbage.db",
         "hydra.sweeper.storage=sqlite:///{tmp}/garbage.db is not allowed: {tmp}/garbage.db is "
         "not an SQLite database"),
        ("sqlite:///{tmp}", "storage=sqlite:///{tmp} is not allowed: {tmp} is a folder, not a "
         "regular file"),
        ("sqlite:///{tmp}/elsewhere.db",  # sqlite3 made the file the link names, a new study
         "storage=sqlite:///{tmp}/elsewhere.db is not allowed: {tmp}/elsewhere.db is a link to "
         "nothing"),
        ("postgresql://u:secret@nohost/db",
         "hydra.sweeper.storage=postgresql://u:***@nohost/db is not allowed: its driver, the "
         "Python module psycopg2, is not installed"),
        ("nosuchdb://x", "hydra.sweeper.storage=nosuchdb://x is not allowed: SQLAlchemy has no"),
    ],
)  # fmt: skip
def test_a_storage_optuna_cannot_open_is_one_line_naming_it(
    cli, monkeypatch, tmp_path, storage, message
):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweeps extra")
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # not installed, wherever it is
    (tmp_path / "garbage.db").write_text("garbage\n")
    (tmp_path / "elsewhere.db").symlink_to(tmp_path / "gone" / "study.db")
    sweep_dir = tmp_path / "sweep"
    refused = cli("aegan.train", "-m", *TINY_AE, *OPTUNA, f"hydra.sweep.dir={sweep_dir}",
                  f"hydra.sweeper.storage={storage.format(tmp=tmp_path)}")  # fmt: skip
    assert_one_error_line(refused, message.format(tmp=tmp_path))
    assert not sweep_dir.exists() and (tmp_path / "garbage.db").read_text() == "garbage\n"


def test_a_storage_of_an_earlier_study_or_a_new_file_passes(tmp_path):
    from aegan.sweep_plugins import _check_storage

    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "study.db").write_bytes(b"SQLite format 3\x00" + bytes(84))
    for name in ("new.db", "empty.db", "study.db"):
        _check_storage(f"sqlite:///{tmp_path / name}")


def test_the_plugins_own_defaults_pass():
    """A search config of the user's own that leaves a setting out gets the plugin's default
    (``direction`` as the plugin's enum, not the text)."""
    optuna = pytest.importorskip("hydra_plugins.hydra_optuna_sweeper.config")
    joblib = pytest.importorskip("hydra_plugins.hydra_joblib_launcher.config")
    submitit = pytest.importorskip("hydra_plugins.hydra_submitit_launcher.config")
    for launcher in (joblib.JobLibLauncherConf, submitit.SlurmQueueConf, submitit.LocalQueueConf):
        check_sweep_settings(OmegaConf.create({
            "sweeper": OmegaConf.structured(optuna.OptunaSweeperConf),
            "launcher": OmegaConf.structured(launcher),
        }))  # fmt: skip


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


def test_a_joblib_backend_the_launcher_overrides_is_warned_of(caplog):
    """The launcher runs its jobs with loky whatever ``backend`` says: it had no effect."""
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    launcher = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
                "n_jobs": 1, "prefer": "processes", "require": None}  # fmt: skip
    for backend, said in (("loky", False), (None, False), ("threading", True)):
        caplog.clear()
        check_sweep_settings(OmegaConf.create({
            "sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"},
            "launcher": {**launcher, "backend": backend},
        }))  # fmt: skip
        assert ("hydra.launcher.backend=threading has no effect" in caplog.text) == said
