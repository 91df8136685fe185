"""The sweeper's and launcher's own settings (``hydra.sweeper.*``, ``hydra.launcher.*``) that
their plugins cannot use: one line naming the key before the first job, no sweep folder.
Each was a traceback (ZeroDivisionError, AssertionError, a database driver's), an error
with a wrong hint, or, for ``direction=maximize``, a study that searched for the worst
model. In-process, as ``python -m aegan.train -m`` runs them."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from aegan.sweep_settings import check_sweep_settings
from conftest import TINY_AE, assert_one_error_line

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
     (["model.latent_dim=8,16", "hydra.sweeper.max_batch_size=0"],
      "hydra.sweeper.max_batch_size=0 is not allowed"),
     (["hydra/launcher=joblib", "hydra.launcher.n_jobs=0", "model.latent_dim=8,16"],
      "hydra.launcher.n_jobs=0 is not allowed: it must be the number of jobs at once, or -1"),
     (["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=0", "model.latent_dim=8,16"],
      "hydra.launcher.timeout_min=0 is not allowed")],
)  # fmt: skip
def test_a_sweep_setting_its_plugin_cannot_use_is_one_line_before_any_job(
    cli, tmp_path, overrides, message
):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweeps extra")
    sweep_dir = tmp_path / "sweep"
    refused = cli("aegan.train", "-m", *TINY_AE, *overrides, f"hydra.sweep.dir={sweep_dir}")
    assert_one_error_line(refused, message)
    assert not sweep_dir.exists()


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
