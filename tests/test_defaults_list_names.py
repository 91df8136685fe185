"""An option named in a config file's own defaults list that is not there is named with the
file's option: "experiment=nope: there is no such experiment config" was said of
``experiment=mine`` whose defaults list named ``nope``, as if the command line had."""

from __future__ import annotations

import pytest
from own_files import train_own_experiment

from aegan.config import compose_config
from aegan.errors import ConfigError
from conftest import assert_one_error_line


@pytest.mark.parametrize(
    ("defaults", "said"),
    [("- nope", "experiment=mine: its defaults list names experiment=nope: there is no such "
      "experiment config"),
     ("- /model: nope", "experiment=mine: its defaults list names model=nope: no such option; "
      "choose one of: aae, autoencoder,")],
)  # fmt: skip
def test_a_missing_option_in_a_files_defaults_names_the_file(cli, tmp_path, defaults, said):
    result, mine, run = train_own_experiment(cli, tmp_path, f"defaults:\n  {defaults}\n")
    assert_one_error_line(result, said)
    assert not run.exists()


@pytest.mark.parametrize(
    ("override", "said"),
    [("/model: nope", "its defaults list ({mine}) names model=nope: no such option; choose one "
      "of: aae, autoencoder,"),
     ("/hydra/launcher: nope", "its defaults list ({mine}) names hydra/launcher=nope: no such "
      "option; choose one of: basic,")],
)  # fmt: skip
def test_an_override_of_a_missing_option_names_the_file(tmp_path, override, said):
    """``override /model: nope`` was refused as "model=nope: no such option", as if typed on
    the command line: named as the file's own mistake, as the file is loaded."""
    mine = tmp_path / "experiment" / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text(f"# @package _global_\ndefaults:\n  - override {override}\n")
    with pytest.raises(ConfigError) as refused:
        compose_config(["experiment=mine"], searchpath=[f"file://{tmp_path}"])
    assert str(refused.value).startswith(f"experiment=mine: {said.format(mine=mine)}")
