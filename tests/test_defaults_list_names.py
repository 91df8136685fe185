"""An option named in a config file's own defaults list that is not there is named with the
file's option: "experiment=nope: there is no such experiment config" was said of
``experiment=mine`` whose defaults list named ``nope``, as if the command line had."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize(
    ("defaults", "said"),
    [("- nope", "experiment=mine: its defaults list names experiment=nope: there is no such "
      "experiment config"),
     ("- /model: nope", "experiment=mine: its defaults list names model=nope: no such option; "
      "choose one of: aae, autoencoder,")],
)  # fmt: skip
def test_a_missing_option_in_a_files_defaults_names_the_file(cli, tmp_path, defaults, said):
    mine = tmp_path / "myconf" / "experiment" / "mine.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text(f"# @package _global_\ndefaults:\n  {defaults}\n")
    run = tmp_path / "run"
    result = cli("aegan.train", f"hydra.searchpath=[file://{tmp_path / 'myconf'}]",
                 "experiment=mine", "data.subset=64", f"hydra.run.dir={run}")  # fmt: skip
    assert_one_error_line(result, said)
    assert not run.exists()
