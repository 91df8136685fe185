"""An option named in a config file's own defaults list that is not there is named with the
file's option: "experiment=nope: there is no such experiment config" was said of
``experiment=mine`` whose defaults list named ``nope``, as if the command line had."""

from __future__ import annotations

import pytest
from own_files import train_own_experiment

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
