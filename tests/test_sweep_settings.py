"""The sweeper's and launcher's own settings (``hydra.sweeper.*``, ``hydra.launcher.*``) that
their plugins cannot use: one line naming the key before the first job, no sweep folder.
Each was a traceback (ZeroDivisionError, AssertionError, a database driver's), an error
with a wrong hint, or, for ``direction=maximize``, a study that searched for the worst
model. In-process, as ``python -m aegan.train -m`` runs them."""

from __future__ import annotations

import os
import sys

import pytest
from omegaconf import OmegaConf

from aegan.sweep_checks.plugins import check_sweep_settings
from conftest import TINY_AE, assert_one_error_line

OPTUNA = ["hparams_search=autoencoder_optuna", "hydra.sweeper.n_trials=1"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [([*OPTUNA, "hydra.sweeper.n_trials=-1"], "hydra.sweeper.n_trials=-1 is not allowed"),
     ([*OPTUNA, "hydra.sweeper.n_jobs=0"], "hydra.sweeper.n_jobs=0 is not allowed"),
     ([*OPTUNA, "hydra.sweeper.max_failure_rate=2"],
      "hydra.sweeper.max_failure_rate=2 is not allowed: it must be a number in [0, 1]"),
     ([*OPTUNA, "hydra.sweeper.direction=maximize"],
      "hydra.sweeper.direction=maximize is not allowed: aegan.train returns one objective"),
     ([*OPTUNA, "hydra.sweeper.direction=up"], "hydra.sweeper.direction=up is not allowed"),
     ([*OPTUNA, "hydra.sweeper.direction=[up]"], "hydra.sweeper.direction=[up] is not allowed"),
     # a name's node took the number as text: a study named 1000.0
     ([*OPTUNA, "hydra.sweeper.study_name=1e3"], "hydra.sweeper.study_name=1e3 is not allowed: "
      "it must be text (quoted where it reads as a number: hydra.sweeper.study_name='1e3')"),
     # its node takes any value: "'int' object has no attribute 'create_new_study'"
     ([*OPTUNA, "hydra.sweeper.storage=3"], "hydra.sweeper.storage=3 is not allowed: it must be "
      "null (in memory) or a database URL"),
     ([*OPTUNA, "hydra.sweeper.storage=[a]"], "hydra.sweeper.storage=[a] is not allowed"),
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
     # submitit's "Could not detect srun, are you indeed on a slurm cluster?", after multirun.yaml
     (["hydra/launcher=slurm", "hydra.launcher.partition=gpu", "model.latent_dim=8,16"],
      "hydra/launcher=slurm needs SLURM, and this machine has no srun on its PATH: launch the "
      "sweep on the cluster (its login node), or try the same path here with "
      "hydra/launcher=submitit_local"),
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
    cli, monkeypatch, tmp_path, overrides, message
):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweeps extra")
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))  # no SLURM here, wherever it is
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
    from aegan.sweep_checks.plugins import _check_storage

    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "study.db").write_bytes(b"SQLite format 3\x00" + bytes(84))
    for name in ("new.db", "empty.db", "study.db"):
        _check_storage(f"sqlite:///{tmp_path / name}")


def test_the_plugins_own_defaults_pass(monkeypatch, tmp_path):
    """A search config of the user's own that leaves a setting out gets the plugin's default
    (``direction`` as the plugin's enum, not the text); SLURM's on a machine with ``srun``."""
    (tmp_path / "srun").write_text("#!/bin/sh\n")
    (tmp_path / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    optuna = pytest.importorskip("hydra_plugins.hydra_optuna_sweeper.config")
    joblib = pytest.importorskip("hydra_plugins.hydra_joblib_launcher.config")
    submitit = pytest.importorskip("hydra_plugins.hydra_submitit_launcher.config")
    for launcher in (joblib.JobLibLauncherConf, submitit.SlurmQueueConf, submitit.LocalQueueConf):
        check_sweep_settings(OmegaConf.create({
            "sweeper": OmegaConf.structured(optuna.OptunaSweeperConf),
            "launcher": OmegaConf.structured(launcher),
            "overrides": {"task": ["model.latent_dim=8,16"]},  # something to search
        }))  # fmt: skip


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


@pytest.mark.parametrize(
    ("command", "given", "named"),
    [("aegan.bench", ["hparams_search=autoencoder_optuna"], "hparams_search=autoencoder_optuna"),
     ("aegan.bench", ["hydra/sweeper=optuna"], "hydra/sweeper=optuna"),
     ("aegan.evaluate", ["hydra/sweeper=optuna", "run=RUN"], "hydra/sweeper=optuna")],
)  # fmt: skip
def test_a_search_without_an_objective_is_one_line_before_any_job(
    cli, tmp_path, command, given, named
):
    """aegan.bench -m hparams_search=autoencoder_optuna ran its 20 trials, each timed, then
    failed by Optuna ("Return value must be float-castable. Got 'None'"); aegan.evaluate's
    trials each evaluated the run again. Neither command returns an objective to search."""
    out = tmp_path / "sweep"
    given = [g.replace("RUN", str(tmp_path / "run")) for g in given]
    result = cli(command, "-m", *given, "hydra.sweep.dir=" + str(out))
    assert_one_error_line(result, f"{named} is not allowed with {command}: a search minimises")
    assert not out.exists()


@pytest.mark.parametrize(
    ("search", "named"),
    [(["hydra/sweeper=optuna"], "hydra/sweeper=optuna"),
     (["hparams_search=mine"], "hparams_search=mine")],
)  # fmt: skip
def test_a_search_with_nothing_to_search_is_one_line(cli, tmp_path, search, named):
    """-m hydra/sweeper=optuna alone trained its 20 trials of the same settings, exit 0."""
    (tmp_path / "hparams_search").mkdir()
    (tmp_path / "hparams_search" / "mine.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /hydra/sweeper: optuna\n"
    )
    out = tmp_path / "sweep"
    result = cli("aegan.train", "-m", *search, f"hydra.searchpath=[file://{tmp_path}]",
                 *TINY_AE, f"hydra.sweep.dir={out}")  # fmt: skip
    assert_one_error_line(result, f"{named} is not allowed without values to search")
    assert not out.exists()
