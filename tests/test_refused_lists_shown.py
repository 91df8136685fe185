"""A list or a mapping that the settings' check refuses is shown as the command line writes
it: ``task_name=[a]`` was named as Python writes the list (``task_name=['a']``), and
``model.loss=[a,null]`` as ``['a', None]``."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize(
    ("override", "message"),
    [("task_name=[a]", "task_name=[a] is not allowed: it must be text"),
     ("model.loss=[a,null]", "model.loss=[a,null] is not allowed: it must be text"),
     ("paths.data_dir=[a]", "paths.data_dir=[a] is not allowed: it must be text"),
     ("evaluate.at_end={a:true}", "evaluate.at_end={a:true} is not allowed: it must be true or "
      "false, not a mapping")],
)  # fmt: skip
def test_a_refused_list_is_shown_as_typed(cli, tmp_path, override, message):
    run = tmp_path / "run"
    result = cli("aegan.train", override, "data.subset=64", f"hydra.run.dir={run}")
    assert_one_error_line(result, message)
    assert not run.exists()
