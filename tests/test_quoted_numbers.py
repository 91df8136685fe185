"""Text that reads as a number, given to a setting that takes one (``trainer.epochs='1'``,
``seed='1'``, a value quoted in YAML), is refused at every such key alike, naming how to
write the number: OmegaConf's integer type took ``trainer.epochs='1'`` as 1, where
``seed='1'`` and ``data.batch_size='32'`` were refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aegan.config import CONF_DIR, compose_config, validate_config
from aegan.errors import ConfigError
from aegan.settings.schema import reference
from conftest import assert_one_error_line

CHOICES = {"model": "vae", "data": "fashion_mnist"}  # a model with integer and number settings


def number_settings(values: dict, prefix: str = "") -> list[tuple[str, int | float]]:
    """Each dotted key of ``values`` (what conf/ holds) that holds an integer or a number."""
    found = []
    for key, value in values.items():
        if isinstance(value, dict):
            found += number_settings(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found.append((f"{prefix}{key}", value))
    return found


NUMBERS = number_settings(reference(CONF_DIR, CHOICES))


def test_the_settings_that_take_numbers_are_found():
    keys = [key for key, _ in NUMBERS]
    assert {"seed", "trainer.epochs", "data.batch_size", "model.optimizer.lr"} <= set(keys)


@pytest.mark.parametrize(("key", "value"), NUMBERS, ids=[key for key, _ in NUMBERS])
def test_a_quoted_number_is_refused_with_the_unquoted_writing(key, value):
    cfg = compose_config([f"model={CHOICES['model']}", f"{key}='{value}'"])
    with pytest.raises(ConfigError) as refused:
        validate_config(cfg, in_job=False, read_data=False)
    assert str(refused.value).startswith(f"{key}='{value}' is not allowed: it must be ")
    assert str(refused.value).endswith(f" (unquoted: {key}={value})")


@pytest.mark.parametrize(
    ("given", "key", "value"),
    [("", "data.subset", "64"), ("", "trainer.cpu_threads", "1"),
     ("model=vae model.likelihood=gaussian", "model.gaussian_scale", "0.5"),
     ("", "model.optimizer.foreach", "false"), ("", "evaluate.metrics", "[reconstruction]")],
)  # fmt: skip
def test_a_quoted_value_is_refused_with_the_unquoted_writing_where_conf_holds_null(
    given, key, value
):
    """conf/ holds null for these, so no schema gives their kind: the code that reads each
    checks it, and ``data.subset='5'`` (aegan.data's check), ``foreach='false'`` and
    ``evaluate.metrics='[fd]'`` were refused without the writing that gives the value."""
    cfg = compose_config([*given.split(), f"{key}='{value}'"])
    with pytest.raises(ConfigError) as refused:
        validate_config(cfg, in_job=False, read_data=False)
    assert str(refused.value).startswith(f"{key}='{value}' is not allowed: it must be ")
    assert str(refused.value).endswith(f" (unquoted: {key}={value})")
    hinted = compose_config([*given.split(), f"{key}={value}"])
    validate_config(hinted, in_job=False, read_data=False)


@pytest.mark.parametrize(
    ("given", "refused"),
    [("model.hidden_dims=[64,'32']", "model.hidden_dims[1]='32' is not allowed: it must be an "
      "integer (unquoted in model.hidden_dims: 32)"),
     ("model=dcgan model.g_optimizer.betas=['0.5',0.9]", "model.g_optimizer.betas[0]='0.5' is "
      "not allowed: it must be a number (unquoted in model.g_optimizer.betas: 0.5)")],
)  # fmt: skip
def test_a_quoted_number_in_a_list_is_refused_with_the_list_to_write(given, refused):
    """It was told to write ``model.hidden_dims[1]=32``, an override Hydra cannot read."""
    with pytest.raises(ConfigError, match=re.escape(refused) + "$"):
        validate_config(compose_config(given.split()), in_job=False, read_data=False)


@pytest.mark.parametrize(("key", "text"), [("trainer.epochs", "3"), ("evaluate.at_end", "false")])
def test_an_environment_variables_number_is_refused_with_its_decoding(monkeypatch, key, text):
    """``${oc.env:E}`` gives text whatever it holds (a job script's ``EPOCHS=3``): the hint
    was to write it unquoted, which the user had not quoted; ``oc.decode`` reads it."""
    monkeypatch.setenv("AEGAN_TEST_VALUE", text)
    cfg = compose_config([f"{key}=${{oc.env:AEGAN_TEST_VALUE}}"])
    with pytest.raises(ConfigError) as refused:
        validate_config(cfg, in_job=False, read_data=False)
    hint = "${oc.env:AEGAN_TEST_VALUE} gives text: write ${oc.decode:${oc.env:AEGAN_TEST_VALUE}}"
    assert str(refused.value).endswith(f" ({hint})")
    decoded = f"{key}='${{oc.decode:${{oc.env:AEGAN_TEST_VALUE}}}}'"
    validate_config(compose_config([decoded]), in_job=False, read_data=False)  # as hinted


@pytest.mark.parametrize(
    ("override", "kind"),
    [
        ("hydra.sweeper.n_trials='0'", "an integer"),
        ("hydra.sweeper.sampler.seed='-1'", "an integer"),
    ],
)
def test_a_quoted_number_for_a_sweepers_setting_is_refused_too(cli, tmp_path, override, kind):
    """The plugin's typed node converted it: ``hydra.sweeper.n_trials='5'`` ran 5 trials (values
    refused once read as numbers here, so that no sweep starts)."""
    key, _, value = override.partition("=")
    result = cli("aegan.train", "-m", "hparams_search=autoencoder_optuna", override,
                 f"hydra.sweep.dir={tmp_path / 'sweep'}")  # fmt: skip
    assert_one_error_line(
        result,
        f"{override} is not allowed: it must be {kind} (unquoted: {key}={value.strip(chr(39))})",
    )
    assert not (tmp_path / "sweep").exists()


JOBLIB = ("  - override /hydra/sweeper: optuna",
          "  - override /hydra/sweeper: optuna\n  - override /hydra/launcher: joblib")  # fmt: skip


@pytest.mark.parametrize(
    ("edits", "key", "value"),
    [([("n_trials: 20", "n_trials: '20'")], "hydra.sweeper.n_trials", "20"),
     ([("n_startup_trials: 5", "n_startup_trials: '5'")], "hydra.sweeper.sampler.n_startup_trials",
      "5"),
     ([JOBLIB, ("  sweeper:", "  launcher: {n_jobs: '2'}\n  sweeper:")], "hydra.launcher.n_jobs",
      "2")],
)  # fmt: skip
def test_a_quoted_number_for_a_plugins_setting_in_a_file_is_refused(tmp_path, edits, key, value):
    """An ``hparams_search`` file of the user's, copied from conf/ with ``n_trials: '20'``: the
    plugin's node converted it as the file loaded, where the command line's is refused."""
    text = Path(CONF_DIR, "hparams_search", "autoencoder_optuna.yaml").read_text()
    for written, edited in edits:
        text = text.replace(written, edited, 1)
    mine = tmp_path / "hparams_search" / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text(text)
    with pytest.raises(ConfigError) as refused:
        compose_config(["hparams_search=mine"], searchpath=[f"file://{tmp_path}"])
    assert str(refused.value) == (
        f"hparams_search=mine: {key}='{value}' is not allowed: it must be an integer "
        f"(unquoted: {key}={value}) (set in {mine})"
    )
