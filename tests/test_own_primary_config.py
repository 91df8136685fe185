"""A primary config of the user's (``--config-dir DIR --config-name mine``, its defaults
[train]) is checked as the command's own: aegan.train's run as a run, its sweep's jobs
before the first."""

from __future__ import annotations

import pytest

from conftest import CONF_DIR, assert_one_error_line

QUICK = ["data.subset=64", "data.val_size=32", "evaluate.at_end=false", "logger=none",
         "trainer.device=cpu"]  # fmt: skip


@pytest.fixture
def own_config(tmp_path):
    (tmp_path / "mine.yaml").write_text("defaults: [train, _self_]\nseed: 3\n")
    return ["--config-dir", str(tmp_path), "--config-name", "mine"]


def test_a_run_of_its_own_config_is_checked_as_a_run(cli, tmp_path, own_config):
    """It was refused as aegan.bench's: "trainer.epochs=1 is not allowed: aegan.bench
    ignores trainer.epochs"."""
    run = tmp_path / "run"
    result = cli("aegan.train", *own_config, *QUICK, "trainer.epochs=1", f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (run / "metrics.json").is_file()


def test_a_sweep_of_its_own_config_checks_every_job_first(cli, tmp_path, own_config):
    """Its jobs were not checked: job 0 trained, then job 1 failed in its folder."""
    sweep = tmp_path / "sweep"
    result = cli("aegan.train", "-m", *own_config, *QUICK, "trainer.epochs=1,0",
                 f"hydra.sweep.dir={sweep}")  # fmt: skip
    assert_one_error_line(result, "job 1 of 2 (trainer.epochs=0): trainer.epochs=0 is not allowed")
    assert not sweep.exists()


@pytest.mark.parametrize("name", ["nope", "../x"])
def test_a_primary_config_that_is_not_there_is_named(cli, tmp_path, name):
    """Hydra listed its search path ("Cannot find primary config 'nope'. ... provider=hydra,
    path=pkg://hydra.conf ..."), and ../x was read as an option of a group named .."""
    result = cli("aegan.train", "--config-dir", str(tmp_path), "--config-name", name)
    assert_one_error_line(
        result, f"--config-name {name}: there is no such config: its file {name}.yaml must be"
    )


@pytest.mark.parametrize("config", ["bare", "model/vae"])
@pytest.mark.parametrize("given", [[], ["trainer.epochs=1"]])
def test_a_primary_config_that_is_not_a_training_config_is_refused(cli, tmp_path, config, given):
    """It came without conf/hydra's folder checks: Hydra made the run's folder (.hydra/,
    train.log), then the run was refused for hydra.output_subdir=.hydra, never typed; with
    a setting it lacks, the setting was named (or evaluate's run: ??? gave a traceback)."""
    (tmp_path / "bare.yaml").write_text("seed: 1\n")
    run = tmp_path / "run"
    result = cli("aegan.train", "--config-dir", str(tmp_path), "--config-name", config,
                 f"hydra.run.dir={run}", *given)  # fmt: skip
    assert_one_error_line(result, f"--config-name {config}: ")
    assert "is not a config of aegan.train: it lacks" in result.stderr
    assert "begin it with defaults: [train, _self_]" in result.stderr
    assert not run.exists()


@pytest.mark.parametrize(
    ("module", "config"),
    [("aegan.train", "bench"), ("aegan.train", "evaluate"), ("aegan.bench", "train"),
     ("aegan.evaluate", "train"), ("aegan.evaluate", "bench")],
)  # fmt: skip
@pytest.mark.parametrize("given", [[], ["trainer.epochs=1"]])
def test_another_commands_config_is_named_as_its(cli, tmp_path, module, config, given):
    """bench.yaml composes train's settings and adds its own: aegan.train read it as a config
    of the user's and said "batch_size is not a setting; did you mean data.batch_size? (a
    key of your own ...)"; evaluate's was told to begin with defaults: [train, _self_]."""
    run = tmp_path / "run"
    command = module.partition(".")[2]
    result = cli(module, "--config-name", config, f"hydra.run.dir={run}", *given)
    assert_one_error_line(
        result, f"--config-name {config}: {CONF_DIR / config}.yaml is aegan.{config}'s config, "
        f"not aegan.{command}'s: run python -m aegan.{config}, or leave --config-name out"
    )  # fmt: skip
    assert not run.exists()
