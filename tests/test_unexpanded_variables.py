"""A folder setting that holds ``$NAME`` of a variable that is set (``'$HOME/runs'``, quoted
or from a config file) is refused in one line: no shell expands it there, and the run went
to a folder named ``$HOME`` below the current one."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize("key", ["hydra.run.dir", "paths.data_dir", "paths.log_dir"])
def test_a_shell_variable_in_a_folder_setting_is_refused(cli, tmp_path, monkeypatch, key):
    monkeypatch.setenv("AEGAN_TEST_PLACE", str(tmp_path / "meant"))
    given = f"{tmp_path}/$AEGAN_TEST_PLACE/x"
    run = [] if key == "hydra.run.dir" else [f"hydra.run.dir={tmp_path / 'run'}"]
    result = cli("aegan.train", f"{key}={given}", *run, "data.subset=64")
    assert_one_error_line(
        result, f"{key}='{given}' is not allowed: $AEGAN_TEST_PLACE is not expanded here; write "
        "${oc.env:AEGAN_TEST_PLACE} for the variable's value"
    )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == []
