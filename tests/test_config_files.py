"""A user's config file on the search path that is no config: one line naming the option
and its file, exit code 2, before the run folder is made."""

from __future__ import annotations

import pytest

import aegan.config
from aegan.errors import ConfigError
from conftest import assert_one_error_line

GROUPS = ["model", "data", "trainer", "logger", "paths", "experiment", "hydra",
          "hydra/launcher", "hparams_search"]  # fmt: skip
# file name -> (its text, what the line says of it)
CONTENTS = {
    "alist": ("- 1\n- 2\n", "holds a list, where a config group option must hold a mapping"),
    "number": ("42\n", "holds a number, where a config group option must hold a mapping"),
    "switch": ("true\n", "holds true or false, where a config group option must hold a mapping"),
    "loop": ("defaults: [loop]\n", "includes itself through the defaults lists"),
    "one": ("defaults: [two]\n", "includes itself through the defaults lists"),
}


def user_folder(root, group: str):
    """``root`` as a config folder whose ``group`` holds each file of ``CONTENTS``."""
    folder = root / "myconf" / group
    folder.mkdir(parents=True)
    for name, (text, _) in CONTENTS.items():
        (folder / f"{name}.yaml").write_text(text)
    (folder / "two.yaml").write_text("defaults: [one]\n")
    return root / "myconf"


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("name", list(CONTENTS))
def test_a_group_option_that_is_no_mapping_is_one_line(cli, tmp_path, group, name):
    """A list was a traceback (``KeyValidationError ... model[name]``) after the run folder
    was made, or "invalid literal for int()"; a number "the output folder cannot be
    created"; a file that includes itself "maximum recursion depth exceeded"."""
    searchpath = f"hydra.searchpath=[file://{user_folder(tmp_path, group)}]"
    sweep = ["-m"] if group == "hparams_search" else []
    run = [f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    result = cli("aegan.train", *sweep, searchpath, f"{group}={name}", "data.subset=1000", *run)
    file = tmp_path / "myconf" / group / f"{name}.yaml"
    assert_one_error_line(result, f"{group}={name}: {file} {CONTENTS[name][1]}")
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()


def test_a_cycle_names_the_files_it_goes_through(cli, tmp_path):
    searchpath = f"hydra.searchpath=[file://{user_folder(tmp_path, 'model')}]"
    result = cli("aegan.train", searchpath, "model=one", f"hydra.run.dir={tmp_path / 'run'}")
    assert_one_error_line(result, "(model/one -> model/two -> model/one)")


def test_compose_config_refuses_it_too(tmp_path):
    """Notebooks, ``load_run`` and the sweep's checks compose without the command line."""
    folder = user_folder(tmp_path, "data")
    with pytest.raises(ConfigError, match="data=alist: .* holds a list"):
        aegan.config.compose_config(["data=alist"], searchpath=[f"file://{folder}"])


def test_an_empty_option_file_is_one_line(cli, tmp_path):
    """Hydra reads it as no settings: each key it lacks is named, once, with no folder made;
    an override into it listed the settings of the group as an empty list."""
    folder = user_folder(tmp_path, "trainer")
    (folder / "trainer" / "empty.yaml").write_text("")
    run = [f"hydra.searchpath=[file://{folder}]", "trainer=empty", f"hydra.run.dir={tmp_path}/r"]
    assert_one_error_line(cli("aegan.train", *run), "trainer.epochs=null is not allowed")
    result = cli("aegan.train", *run, "trainer.epochs=1")
    assert_one_error_line(result, "trainer.epochs is not a setting: trainer has none (is its")
    assert not (tmp_path / "r").exists()
