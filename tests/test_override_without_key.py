"""An override without a key: one line naming it, not Hydra's words of a config group."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize("override", ["=1", "+=1", "++=x", "~", "~=1"])
def test_an_override_without_a_key_is_named(cli, tmp_path, override):
    """=1 was "Config group override must be a string or a list. Got int", ~ "Could not
    delete ''. No match in the defaults list"."""
    run = tmp_path / "run"
    result = cli("aegan.train", override, "data.subset=64", f"hydra.run.dir={run}")
    assert_one_error_line(result, f"{override!r} is not an override: it needs a key: KEY=VALUE")
    assert not run.exists()
