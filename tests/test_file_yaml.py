"""A config file of the user's that is not YAML is one line naming the option, the file,
the parser's reason and where: the parser's own two lines were shown, each naming the file,
and not the option that read it."""

from __future__ import annotations

import pytest
from own_files import train_own_experiment

from conftest import assert_one_error_line


@pytest.mark.parametrize(
    ("text", "why"),
    [("trainer:\n  epochs: [1\n", "while parsing a flow sequence; expected ',' or ']', but got "
      "'<stream end>' (line 4, column 1)"),
     ("\tseed: 1\n", "while scanning for the next token; found character '\\t' that cannot "
      "start any token (line 2, column 1)"),
     ("seed: 1\nseed: 2\n", "while constructing a mapping; found duplicate key seed (line 3, "
      "column 1)")],
)  # fmt: skip
def test_a_file_that_is_not_yaml_is_one_line(cli, tmp_path, text, why):
    result, mine, run = train_own_experiment(cli, tmp_path, f"{text}")
    assert_one_error_line(result, f"experiment=mine: {mine} is not YAML that can be read: {why}")
    assert result.stderr.count(str(mine)) == 1 and not run.exists()
