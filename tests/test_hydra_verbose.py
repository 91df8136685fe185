"""``hydra.verbose`` given what Hydra's logging set-up cannot take: one line naming it and
what it takes, before the run's folder is made."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize("value", ["1", "null", "{a:1}", "[1]"])
def test_a_verbose_value_hydra_cannot_take_is_named(cli, tmp_path, value):
    """It was "error: AssertionError", or "A logger name must be a string" for [1]."""
    run = tmp_path / "run"
    result = cli("aegan.train", f"hydra.verbose={value}", f"hydra.run.dir={run}")
    assert_one_error_line(
        result, f"hydra.verbose={value} is not allowed: it must be true, false, a logger's name"
    )
    assert not run.exists()
