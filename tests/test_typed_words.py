"""An error line writes Python's None, True and False as typed (null, true, false), but
never inside a path or a folder's name, which must name what is on the disk."""

from __future__ import annotations

from aegan.errors import ConfigError, as_typed, folder_word


def test_python_constants_are_written_as_typed():
    assert as_typed("trainer.device=None is not allowed") == "trainer.device=null is not allowed"
    assert str(ConfigError("model.spectral_norm=True: no")) == "model.spectral_norm=true: no"


def test_a_relative_paths_last_part_is_kept():
    """A sweep into a relative folder named its record multirun/.not_run/x=false.json."""
    path = "multirun/.not_run/evaluate.at_end=False,seed=1.json"
    assert as_typed(f"why: {path}; more") == f"why: {path}; more"


def test_a_folders_name_is_kept_where_written_as_one():
    name = "evaluate.at_end=False,seed=1"
    assert as_typed(f"job {folder_word(name)} failed") == f"job {name}/ failed"
    assert folder_word("3") == "3" and folder_word("lr0.01") == "lr0.01"
