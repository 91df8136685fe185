"""A value in a config file of the user's that a typed section cannot take: one line naming
the option that set it, the key, the value and what is allowed, as an override's would."""

from __future__ import annotations

from pathlib import Path

import pytest

from aegan.cli.value_origins import named_by_its_file
from aegan.config import CONF_DIR, compose_config, validate_config
from aegan.errors import ConfigError
from conftest import assert_one_error_line

GLOBAL = "# @package _global_\n"


@pytest.mark.parametrize(
    ("group", "text", "said"),
    [
        ("experiment", GLOBAL + "trainer: {epochs: abc}\n",
         "experiment=mine: trainer.epochs='abc' is not allowed: it must be an integer"),
        ("trainer", "defaults: [default]\nepochs: abc\n",
         "trainer=mine: trainer.epochs='abc' is not allowed: it must be an integer"),
        ("experiment", GLOBAL + "seed: '1'\n",
         "experiment=mine: seed='1' is not allowed: it must be an integer (unquoted: seed=1)"),
        ("experiment", GLOBAL + "hydra: {job: {chdir: abc}}\n",
         "experiment=mine: hydra.job.chdir='abc' is not allowed: it must be true or false"),
        ("experiment", GLOBAL + "trainer: {epoch: 3}\n",
         "experiment=mine: trainer.epoch is not a setting; did you mean trainer.epochs?"),
        ("experiment", GLOBAL + "hydra: {sweeper: {params: {seed: null}}}\n",
         "experiment=mine: hydra.sweeper.params.seed=null is not allowed: it must be set"),
        # a mapping where conf/ holds a list, or the reverse: OmegaConf's merge named no key
        ("experiment", GLOBAL + "model:\n  hidden_dims: {a: 1}\n",
         "experiment=mine: model.hidden_dims={a:1} is not allowed: it must be a list, not a "
         "mapping (set in "),
        ("model", "defaults: [autoencoder]\noptimizer: [1e3]\n",
         "model=mine: model.optimizer=[1e3] is not allowed: it must be a mapping of settings, "
         "not a list (set in "),
    ],
)  # fmt: skip
def test_a_files_value_is_named_by_its_option(cli, tmp_path, group, text, said):
    """Hydra's words, with OmegaConf's about its nodes: "In 'experiment/mine':
    ValidationError raised while composing config: Value 'abc' of type 'str' could not be
    converted to Integer full_key: trainer.epochs object_type=TrainerSchema"."""
    folder = tmp_path / "myconf" / group
    folder.mkdir(parents=True)
    (folder / "mine.yaml").write_text(text)
    run = tmp_path / "run"
    result = cli("aegan.train", f"hydra.searchpath=[file://{tmp_path / 'myconf'}]",
                 f"{group}=mine", "data.subset=64", f"hydra.run.dir={run}")  # fmt: skip
    assert_one_error_line(result, said)
    assert "full_key" not in result.stderr and not run.exists()


OPTUNA_FILE = Path(CONF_DIR, "hparams_search", "autoencoder_optuna.yaml").read_text()


@pytest.mark.parametrize(
    ("written", "edited", "said"),
    [("n_jobs: 1 ", "n_jobs: 1e3 ", "hydra.sweeper.n_jobs=1e3 is not allowed: it must be an integer"),
     ("n_trials: 20", "n_trials: true", "hydra.sweeper.n_trials=true is not allowed: it must be an "
      "integer"),
     ("n_trials: 20", "n_trials: 2.5", "hydra.sweeper.n_trials=2.5 is not allowed: it must be an integer"),
     ("n_trials: 20", "n_trials: null", "hydra.sweeper.n_trials=null is not allowed: it must be an integer"),
     ("n_trials: 20", "n_trials: [1e3, 2]", "hydra.sweeper.n_trials=[1e3,2] is not allowed: it must "
      "be an integer (not a list)"),
     ("n_startup_trials: 5", "n_startup_trials: false",
      "hydra.sweeper.sampler.n_startup_trials=false is not allowed: it must be an integer"),
     ("study_name: autoencoder", "study_name: 1e3", "hydra.sweeper.study_name=1e3 is not allowed: "
      "it must be text (quoted where it reads as a number: hydra.sweeper.study_name='1e3')")],
)  # fmt: skip
def test_a_plugins_setting_of_another_kind_in_a_file_is_named_with_the_file(
    tmp_path, written, edited, said
):
    """Only a quoted number was named with its file: a number, a switch, null or a list for
    an integer came in OmegaConf's words through Hydra's error ("Value '1000.0' of type
    'float' could not be converted to Integer"), and a number for a name was taken as text."""
    mine = tmp_path / "hparams_search" / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text(OPTUNA_FILE.replace(written, edited, 1))
    with pytest.raises(ConfigError) as refused:
        compose_config(["hparams_search=mine"], searchpath=[f"file://{tmp_path}"])
    assert str(refused.value) == f"hparams_search=mine: {said} (set in {mine})"


def test_a_whole_number_for_a_plugins_text_is_taken_as_written(tmp_path):
    """joblib's batch_size and pre_dispatch are text in its launcher's schema only to hold
    'auto' and '2*n_jobs' too; the launcher reads digits back as the number joblib takes."""
    mine = tmp_path / "hparams_search" / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text(OPTUNA_FILE.replace(
        "  - override /hydra/sweeper: optuna",
        "  - override /hydra/sweeper: optuna\n  - override /hydra/launcher: joblib", 1,
    ).replace("  sweeper:", "  launcher: {batch_size: 4, pre_dispatch: 8}\n  sweeper:", 1))  # fmt: skip
    compose_config(["hparams_search=mine"], searchpath=[f"file://{tmp_path}"])  # not refused


@pytest.mark.parametrize(
    ("group", "text", "said"),
    [("experiment", GLOBAL + "seed: 1e3\n", "seed=1e3 is not allowed: it must be an integer"),
     ("trainer", "defaults: [default]\nepochs: [1e3, 2]\n",
      "trainer.epochs=[1e3,2] is not allowed: it must be an integer"),
     ("experiment", GLOBAL + "task_name: 1e3\n", "task_name=1e3 is not allowed: it must be text "
      "(quoted where it reads as a number: task_name='1e3')")],
)  # fmt: skip
def test_a_files_number_is_shown_as_the_file_writes_it(tmp_path, group, text, said):
    """YAML reads 1e3 as 1000.0 before any check: the line named seed=1000.0, and told to
    quote '1000.0' for a name, which the file never wrote."""
    mine = tmp_path / group / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text(text)
    with pytest.raises(ConfigError) as refused:
        compose_config([f"{group}=mine"], searchpath=[f"file://{tmp_path}"])
    assert str(refused.value) == f"{group}=mine: {said} (set in {mine})"


@pytest.mark.parametrize(
    ("group", "text", "args", "said"),
    [("experiment", GLOBAL + "evaluate:\n  iwae_images: 1e3\n", [],
      "evaluate.iwae_images=1e3 is not allowed: it must be an integer in [1, 10000000]"),
     ("hparams_search", OPTUNA_FILE.replace("n_trials: 20", "n_trials: -1"), ["-m"],
      "hydra.sweeper.n_trials=-1 is not allowed: it must be an integer in [1, inf]"),
     ("hparams_search", OPTUNA_FILE.replace("choice(16, 32, 64, 128)", "range(5, 1)"), ["-m"],
      "data.batch_size=range(5, 1) is not allowed: it sweeps no value (its start lies past "
      "its end)"),
     # the command line's hint for a quoted value was "(unquoted: model.beta=nan)", and
     # unquoted nan is text in YAML
     ("experiment", GLOBAL + "model:\n  beta: nan\n", ["model=vae"],
      "model.beta='nan' is not allowed: it must be a number (unquoted in the file: beta: .nan)"),
     ("experiment", GLOBAL + "model:\n  beta: '-inf'\n", ["model=vae"],
      "model.beta='-inf' is not allowed: it must be a number (unquoted in the file: beta: -.inf)"),
     ("experiment", GLOBAL + "model:\n  hidden_dims: ['64']\n", ["model=vae"],
      "model.hidden_dims[0]='64' is not allowed: it must be an integer (unquoted in the file: "
      "64 in hidden_dims)")],
)  # fmt: skip
def test_a_files_value_refused_after_composition_is_named_with_its_file(
    cli, tmp_path, group, text, args, said
):
    """The checks of the composed config (a run's, a sweeper's, a search's params) see the
    value as YAML read it and no file: the line was "evaluate.iwae_images=1000.0 is not
    allowed", a value the file never wrote, and named no file."""
    mine = tmp_path / "myconf" / group / "mine.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text(text)
    result = cli("aegan.train", *args, f"hydra.searchpath=[file://{mine.parent.parent}]",
                 f"{group}=mine", f"hydra.run.dir={tmp_path / 'run'}",
                 f"hydra.sweep.dir={tmp_path / 'sweep'}")  # fmt: skip
    assert_one_error_line(result, f"error: {group}=mine: {said} (set in {mine})\n")


def test_a_sweeps_job_names_the_file_that_set_its_refused_value(cli, tmp_path):
    """Each job of a sweep is checked before the first: its line named the job, and its
    value as read (model.latent_dim=1000.0), with no file."""
    mine = tmp_path / "experiment" / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text(GLOBAL + "model: {latent_dim: 1e3}\n")
    result = cli("aegan.train", "-m", f"hydra.searchpath=[file://{tmp_path}]", "experiment=mine",
                 "seed=1,2", f"hydra.sweep.dir={tmp_path / 'sweep'}")  # fmt: skip
    assert_one_error_line(
        result, "job 0 of 2 (seed=1): experiment=mine: model.latent_dim=1e3 is not allowed: it "
        f"must be an integer (set in {mine}); no job was started"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("group", "text", "args", "said"),
    [("trainer", "defaults: [default]\non_nonfinite: maybe\n", [],
      "trainer=mine: trainer.on_nonfinite='maybe' is not allowed; choose one of: stop, skip"),
     ("experiment", GLOBAL + "model: {hidden_dims: [1e3, 0]}\n", [],
      "experiment=mine: model.hidden_dims[0]=1e3 is not allowed: it must be an integer"),
     ("experiment", GLOBAL + "model: {latent_dim: 1e3}\n", ["model.latent_dim=0"],
      "model.latent_dim=0 is not allowed: it must be an integer in [1, 65536]")],
)  # fmt: skip
def test_a_refused_value_names_the_users_file_that_set_it(tmp_path, group, text, args, said):
    """The line names the file of the user's that set the value, for each section; a value
    of the command line, which wins over the file's, is refused as it was typed."""
    mine = tmp_path / group / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text(text)
    cfg = compose_config([f"{group}=mine", *args], searchpath=[f"file://{tmp_path}"])
    with pytest.raises(ConfigError) as refused:
        validate_config(cfg, in_job=False, read_data=False)
    named = said.startswith(group)  # the file's value, not the command line's
    assert named_by_its_file(str(refused.value)) == said + (f" (set in {mine})" if named else "")


def test_a_value_set_since_the_composition_names_no_file(tmp_path):
    """A run read back is composed from its options, the user's files among them, then given
    its record's values: a refusal of a value the record set is not the file's to answer."""
    mine = tmp_path / "experiment" / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text(GLOBAL + "model: {latent_dim: 1e3}\n")
    compose_config(["experiment=mine"], searchpath=[f"file://{tmp_path}"])
    line = "model.latent_dim=7 is not allowed: it must be the checkpoint's 1000"
    assert named_by_its_file(line) == line
    assert named_by_its_file(line.replace("=7", "=1000.0")).endswith(f"(set in {mine})")
