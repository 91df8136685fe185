"""A sweep's params (``hydra.sweeper.params``) that cannot be read: one line naming the
setting and the file that set it, not an override the user never typed."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line

EMPTY_CHOICE = "empty choice is not legal"
GLOBAL = "# @package _global_\n"
PARAMS = "hydra:\n  sweeper:\n    params:\n      seed: choice()\n"


@pytest.mark.parametrize(
    ("group", "text"),
    [
        ("experiment", GLOBAL + PARAMS),  # a recipe of the user's
        ("hparams_search", GLOBAL + PARAMS),  # a search of the user's, on the basic sweeper
        ("hydra/sweeper", "defaults: [basic]\nparams:\n  seed: choice()\n"),  # the sweeper's own
    ],
)
def test_a_file_on_the_search_path_is_named(cli, tmp_path, group, text):
    """It was "cannot read the override 'seed=choice()': Error parsing override" though the
    command line held no such override."""
    folder = tmp_path / "myconf" / group
    folder.mkdir(parents=True)
    (folder / "mine.yaml").write_text(text)
    choose = f"{group}=mine" if group != "hydra/sweeper" else "hydra/sweeper=mine"
    sweep = tmp_path / "sweep"
    result = cli("aegan.train", "-m", f"hydra.searchpath=[file://{tmp_path / 'myconf'}]",
                 choose, "data.subset=64", f"hydra.sweep.dir={sweep}")  # fmt: skip
    file = folder / "mine.yaml"
    assert_one_error_line(
        result, f"hydra.sweeper.params.seed=choice() (set in {file}, by {group}=mine)"
    )
    assert EMPTY_CHOICE in result.stderr and "the override" not in result.stderr
    assert not sweep.exists()


def test_a_primary_config_of_the_users_is_named(cli, tmp_path):
    (tmp_path / "mine.yaml").write_text("defaults: [train, _self_]\n" + PARAMS)
    sweep = tmp_path / "sweep"
    result = cli("aegan.train", "-m", "--config-dir", str(tmp_path), "--config-name", "mine",
                 "data.subset=64", f"hydra.sweep.dir={sweep}")  # fmt: skip
    assert_one_error_line(result, f"(set in {tmp_path / 'mine.yaml'}, by the config mine)")
    assert not sweep.exists()


def test_a_search_param_added_on_the_command_line_is_named_as_a_setting(cli, tmp_path):
    sweep = tmp_path / "sweep"
    result = cli("aegan.train", "-m", "hparams_search=autoencoder_optuna",
                 "+hydra.sweeper.params.seed='choice()'", f"hydra.sweep.dir={sweep}")  # fmt: skip
    assert_one_error_line(result, "hydra.sweeper.params.seed=choice() cannot be read as a sweep")
    assert EMPTY_CHOICE in result.stderr
    assert not sweep.exists()


def test_an_override_typed_says_why_it_cannot_be_read(cli, tmp_path):
    """Hydra's first line, all that was shown, only repeated the override."""
    result = cli("aegan.train", "-m", "seed=choice()", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert_one_error_line(result, f"cannot read the override 'seed=choice()': {EMPTY_CHOICE}")
