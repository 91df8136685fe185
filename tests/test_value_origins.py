"""A value refused after composition is named with the file of the user's that set it, and
shown as the user wrote it, whichever check refuses it and whatever it composes since."""

from __future__ import annotations

from pathlib import Path

import pytest

from aegan.cli.value_origins import named_by_its_file
from aegan.config import CONF_DIR, compose_config, validate_config
from aegan.errors import USER_ERRORS
from aegan.sweep_checks.jobs import check_resume
from conftest import assert_one_error_line

GLOBAL = "# @package _global_\n"
TINY = ["data.subset=64", "data.val_size=16", "trainer.epochs=1", "evaluate.at_end=false",
        "logger.enabled=false"]  # fmt: skip


def refused_line(tmp_path, text: str, *args: str) -> tuple[str, str]:
    """(the line refusing the run of ``experiment=mine`` holding ``text``, its file)."""
    mine = tmp_path / "experiment" / "mine.yaml"
    mine.parent.mkdir(exist_ok=True)
    mine.write_text(GLOBAL + text)
    cfg = compose_config(["experiment=mine", *args], searchpath=[f"file://{tmp_path}"])
    with pytest.raises(USER_ERRORS) as refused:
        validate_config(cfg, in_job=False, read_data=False)
        check_resume(cfg)
    return named_by_its_file(str(refused.value)), str(mine)


def test_a_checkpoint_not_found_names_the_setting_and_its_file(tmp_path):
    """The line began with the path ("no checkpoint at /x: ..."), naming neither the
    setting nor the file that set it."""
    line, mine = refused_line(tmp_path, "trainer: {resume: /nonexistent}\n")
    assert line == (
        "experiment=mine: trainer.resume=/nonexistent: no checkpoint at /nonexistent: "
        "expected a .pt file, or a run dir holding checkpoints/last.pt; it does not exist "
        f"(set in {mine})"
    )


def test_a_checkpoint_that_does_not_fit_names_the_file_that_set_it(cli, tmp_path):
    """Holding the checkpoint to the command's model reads its run's record back, a
    composition of its own: the file was looked up in that one, and not found."""
    run = tmp_path / "run"
    trained = cli("aegan.train", *TINY, f"hydra.run.dir={run}")
    assert trained.returncode == 0, trained.stderr
    line, mine = refused_line(tmp_path, f"trainer: {{resume: {run}}}\nmodel: {{latent_dim: 3}}\n")
    assert line.startswith(f"experiment=mine: trainer.resume={run}: ")
    assert "weights do not fit" in line and line.endswith(f" (set in {mine})")


def test_a_checkpoint_not_found_on_the_command_line_names_the_setting(cli, tmp_path):
    result = cli("aegan.train", "trainer.resume=/nonexistent", f"hydra.run.dir={tmp_path / 'r'}")
    assert result.returncode == 2
    assert result.stderr.startswith("error: trainer.resume=/nonexistent: no checkpoint at ")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("override", "said"),
    [("data.batch_size=1e3", "data.batch_size=1e3 is not allowed: it must be an integer"),
     ("model.hidden_dims=[64,1e3]", "model.hidden_dims[1]=1e3 is not allowed: it must be an integer")],
)  # fmt: skip
def test_an_evaluations_override_is_shown_as_typed(cli, trained_ae_run, override, said):
    """The run's settings that aegan.evaluate's overrides=[...] change are checked as the
    command line's are, but the line showed the value as read: data.batch_size=1000.0."""
    result = cli("aegan.evaluate", f"run={trained_ae_run}", f'overrides=["{override}"]')
    assert_one_error_line(result, f"error: {said}\n")


OPTUNA_FILE = Path(CONF_DIR, "hparams_search", "autoencoder_optuna.yaml").read_text()
SEARCHED = OPTUNA_FILE.replace("choice(16, 32, 64, 128)", "choice(16, 1e3)")
GRID = "hydra: {sweeper: {params: {model.latent_dim: '8,1e3'}}}\n"


@pytest.mark.parametrize(
    ("group", "text", "args", "said"),
    [("hparams_search", SEARCHED, [],
      "the values (model.latent_dim=4 model.optimizer.lr=1e-4 data.batch_size=1e3): "
      "hparams_search=mine: data.batch_size=1e3 is not allowed: it must be an integer (drawn "
      "from choice(16, 1e3), set in {mine}); no job was started"),
     ("experiment", GLOBAL + GRID, [],
      "job 1 of 2 (model.latent_dim=1e3): experiment=mine: model.latent_dim=1e3 is not allowed: "
      "it must be an integer (drawn from '8,1e3', set in {mine}); no job was started"),
     # the command line's sweep replaces the file's: the line is the command line's
     ("hparams_search", SEARCHED, ["data.batch_size=choice(8,2e3)"],
      "the values (model.latent_dim=4 model.optimizer.lr=1e-4 data.batch_size=2e3): "
      "data.batch_size=2e3 is not allowed: it must be an integer; no job was started")],
)  # fmt: skip
def test_a_value_a_job_drew_names_the_file_that_set_its_sweep(
    cli, tmp_path, group, text, args, said
):
    """A search's or grid's job drew its value from the sweeper's params in a user's file:
    its line showed it as read (data.batch_size=1000.0), and named no file, as if the
    command line had set it."""
    mine = tmp_path / group / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text(text)
    result = cli("aegan.train", "-m", f"hydra.searchpath=[file://{tmp_path}]", f"{group}=mine",
                 *args, f"hydra.sweep.dir={tmp_path / 'sweep'}")  # fmt: skip
    assert_one_error_line(result, f"error: {said.format(mine=mine)}\n")
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize(
    ("text", "said"),
    [("defaults: [train, _self_]\nmodel: {latent_dim: 1e3}\n",
      "the config mine: model.latent_dim=1e3 is not allowed: it must be an integer (set in "
      "{dir}/mine.yaml)"),
     ("defaults:\n  - train\n  - override trainer: mine\n  - _self_\n",
      "trainer=mine: trainer.resume=/nonexistent: no checkpoint at /nonexistent: expected a .pt "
      "file, or a run dir holding checkpoints/last.pt; it does not exist (set in "
      "{dir}/trainer/mine.yaml)")],
)  # fmt: skip
def test_a_value_of_the_users_primary_config_names_its_file(cli, tmp_path, text, said):
    """conf/'s own config of the command, composed to check the user's (--config-name mine)
    is one of its, stood for the command's composition: no file was named."""
    (tmp_path / "trainer").mkdir()
    (tmp_path / "trainer" / "mine.yaml").write_text("defaults: [default]\nresume: /nonexistent\n")
    (tmp_path / "mine.yaml").write_text(text)
    result = cli("aegan.train", "--config-dir", str(tmp_path), "--config-name", "mine",
                 f"hydra.run.dir={tmp_path / 'run'}")  # fmt: skip
    assert_one_error_line(result, f"error: {said.format(dir=tmp_path)}\n")


@pytest.mark.parametrize(
    ("text", "said"),
    [("size: -4\nmodel: {latent_dim: '${size}'}\n",
      "experiment=mine: model.latent_dim=-4 is not allowed: it must be an integer in [1, 65536] "
      "(set in {file} as ${{size}})"),
     ("size: -4\nmodel:\n  hidden_dims:\n  - 64\n  - ${size}\n",
      "experiment=mine: model.hidden_dims[1]=-4 is not allowed: it must be an integer in [1, "
      "2147483647] (set in {file} as ${{size}})")],
)  # fmt: skip
def test_a_value_an_interpolation_gives_names_its_file(tmp_path, text, said):
    """The line showed -4 and no file: the file writes ${size}, which the line never shows."""
    line, file = refused_line(tmp_path, text)
    assert line == said.format(file=file)
