"""A key that ``aegan.evaluate``'s config does not have, given before its run: one line
naming the key and the sections there are."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize("override", ["nokey.x=1", "trainer.epochs=1"])
def test_an_unknown_key_without_the_run_is_named(cli, override):
    """Naming the sections read their values, and run: ??? raised a traceback."""
    result = cli("aegan.evaluate", override)
    key = override.partition(".")[0]
    assert_one_error_line(result, f"{key} is not a setting; the sections are: cache_dir,")
