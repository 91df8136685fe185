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


@pytest.mark.parametrize("value", ["[null]", "[file:///tmp,null]", "[1]", "[[a]]", "abc"])
def test_a_value_that_is_not_a_list_of_folders_is_refused(cli, tmp_path, value):
    """Hydra's words were Python's: "hydra.searchpath must be a list of strings. Got: [None]"."""
    run = tmp_path / "run"
    result = cli("aegan.train", f"hydra.searchpath={value}", f"hydra.run.dir={run}")
    assert_one_error_line(
        result, f"hydra.searchpath={value} is not allowed: it must be a list of config folders"
    )
    assert not run.exists()


def test_a_config_file_s_searchpath_of_null_is_refused(cli, tmp_path):
    (tmp_path / "mine.yaml").write_text("defaults: [train, _self_]\nhydra:\n  searchpath: [null]\n")
    result = cli("aegan.train", "--config-dir", str(tmp_path), "--config-name", "mine",
                 f"hydra.run.dir={tmp_path / 'run'}")  # fmt: skip
    assert_one_error_line(result, "hydra.searchpath=[null] is not allowed: it must be a list")


@pytest.mark.parametrize("prefix", ["+", "++"])
def test_an_added_value_that_is_not_a_list_of_folders_is_refused(cli, tmp_path, prefix):
    """It was OmegaConf's "Invalid type assigned: NoneType is not a subclass of str"."""
    result = cli("aegan.train", f"{prefix}hydra.searchpath=[null]", f"hydra.run.dir={tmp_path}/r")
    assert_one_error_line(result, "hydra.searchpath=[null] is not allowed: it must be a list")


@pytest.mark.parametrize("entry", ["${oc.env:AEGAN_NO_SUCH_VARIABLE}", "file://${oc.env:CONFIGS}"])
def test_an_entry_holding_an_interpolation_is_refused(cli, tmp_path, monkeypatch, entry):
    """Hydra searches a command line's entry as typed: it warned that the folder named
    ${oc.env:...} was not there, made the run's folder, and stopped on an interpolation it
    did not name; a variable that is set was never read either."""
    (tmp_path / "configs" / "model").mkdir(parents=True)
    monkeypatch.setenv("CONFIGS", str(tmp_path / "configs"))
    run = tmp_path / "run"
    result = cli("aegan.train", f"hydra.searchpath=[{entry}]", f"hydra.run.dir={run}")
    assert_one_error_line(
        result, f"hydra.searchpath: {entry} is not allowed: Hydra searches it as typed, ${{...}}"
    )
    assert not run.exists()
