"""A setting of Hydra's own (its folders, names, switches) given a value of another kind is
one line naming it as typed and what it takes, before any folder is made: OmegaConf's words
were shown ("Cannot convert 'list' to string: '['a']'", "is not a valid input for <enum
'RunMode'>", "str is not a ListConfig, list or tuple")."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize(
    ("override", "message"),
    [("hydra.run.dir=[a]", "hydra.run.dir=[a] is not allowed: it must be text (not a list)"),
     ("hydra.run.dir={a:1}", "hydra.run.dir={a:1} is not allowed: it must be text (not a mapping)"),
     ("hydra.sweep.dir=[a,1]", "hydra.sweep.dir=[a,1] is not allowed: it must be text"),
     ("hydra.sweep.subdir={a:[b]}", "hydra.sweep.subdir={a:[b]} is not allowed: it must be text"),
     ("hydra.job.name=[a]", "hydra.job.name=[a] is not allowed: it must be text (not a list)"),
     ("hydra.output_subdir=[null]", "hydra.output_subdir=[null] is not allowed: it must be text"),
     ("hydra.job.chdir=[true]", "hydra.job.chdir=[true] is not allowed: it must be true or false"),
     ("hydra.mode=nope", "hydra.mode=nope is not allowed: it must be one of RUN, MULTIRUN"),
     ("hydra.mode=[a]", "hydra.mode=[a] is not allowed: it must be one of RUN, MULTIRUN (not a"),
     ("hydra.job.env_copy=HOME", "hydra.job.env_copy=HOME is not allowed: it must be a list"),
     ("hydra.job.env_set=a", "hydra.job.env_set=a is not allowed: it must be a mapping"),
     ("+hydra.job.env_set.X=[a]", "hydra.job.env_set.X=[a] is not allowed: it must be text")],
)  # fmt: skip
def test_a_hydra_setting_of_another_kind_is_one_line(cli, override, message):
    result = cli("aegan.train", override, "trainer.epochs=1")
    assert_one_error_line(result, message)
    assert "Cannot convert" not in result.stderr and "ListConfig" not in result.stderr
