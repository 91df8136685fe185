"""A ``hydra.searchpath`` entry that names no folder: refused in one line, where Hydra added
the current folder to the search path without a word."""

from __future__ import annotations

import pytest

from conftest import assert_one_error_line


@pytest.mark.parametrize(("entry", "shown"), [("file://", "file://"), ("''", "''"),
                                              ("' '", "' '"), ("pkg://", "pkg://")])  # fmt: skip
def test_an_entry_naming_no_folder_is_refused(cli, tmp_path, entry, shown):
    run = tmp_path / "run"
    result = cli("aegan.train", f"hydra.searchpath=[{entry}]", "data.subset=64",
                 f"hydra.run.dir={run}")  # fmt: skip
    assert_one_error_line(result, f"hydra.searchpath: {shown} names no folder")
    assert not run.exists()
