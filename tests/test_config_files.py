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


# a run short enough to end where a file's mistake went through
QUICK = ["trainer.device=cpu", "data.subset=64", "data.batch_size=32", "trainer.epochs=1",
         "evaluate.at_end=false", "logger=none"]  # fmt: skip


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


def _alias_bomb() -> str:
    """Nine lines, each naming the one before ten times: 10^9 values once copied out."""
    lines, before = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]'], "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{', '.join([f'*{before}'] * 10)}]")
        before = name
    return "\n".join(lines) + "\n"


ODD_FILES = {  # name -> (its bytes, what the line says of it)
    "bomb": (_alias_bomb().encode(), "holds more than 100,000 values with its aliases copied out"),
    "latin1": ("latent_dim: 3  # größer\n".encode("latin-1"), "is not UTF-8 text (byte 0xf6 at"),
    "deep": (b"x: " + b"[" * 5000 + b"]" * 5000 + b"\n", "is nested deeper than 100 levels"),
    "long": (b"latent_dim: 32\nhidden_dims: [" + b"9" * 5000 + b"]\n", "line 2 holds a number of"),
    "hex": (b"latent_dim: 0x" + b"f" * 4000 + b"\n", "line 1 holds a number of more digits"),
}


def test_a_file_too_big_to_be_a_config_is_one_line(tmp_path):
    (tmp_path / "model").mkdir()
    with (tmp_path / "model" / "huge.yaml").open("wb") as file:
        file.truncate(17 * 2**20)  # sparse: no disk taken
    with pytest.raises(ConfigError, match=r"model=huge: .*huge.yaml is 17 MiB, over the 16 MiB"):
        aegan.config.compose_config(["model=huge"], searchpath=[f"file://{tmp_path}"])


@pytest.mark.parametrize("name", list(ODD_FILES))
def test_a_file_hydra_cannot_take_is_one_line_naming_it(tmp_path, name):
    """The aliases never returned (gigabytes and climbing), the others were the codec's, the
    recursion's or Python's integer conversion's error without the file."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / f"{name}.yaml").write_bytes(ODD_FILES[name][0])
    with pytest.raises(ConfigError) as caught:
        aegan.config.compose_config([f"model={name}"], searchpath=[f"file://{tmp_path}"])
    assert str(caught.value).startswith(f"model={name}: {tmp_path / 'model' / name}.yaml ")
    assert ODD_FILES[name][1] in str(caught.value)


def test_aliases_that_stay_small_are_taken(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "shared.yaml").write_text(
        "defaults: [autoencoder]\nsizes: &sizes [48]\nhidden_dims: *sizes\nlatent_dim: 16\n"
    )
    cfg = aegan.config.compose_config(["model=shared"], searchpath=[f"file://{tmp_path}"])
    assert list(cfg.model.hidden_dims) == [48] and cfg.model.latent_dim == 16


def test_the_alias_bomb_on_the_command_line_is_one_line(cli, tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "bomb.yaml").write_text(_alias_bomb())
    result = cli("aegan.train", f"hydra.searchpath=[file://{tmp_path}]", "model=bomb",
                 f"hydra.run.dir={tmp_path / 'run'}")  # fmt: skip
    assert_one_error_line(result, "model=bomb: ")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "twice",
    ["/model: vae\n  - override /model: dcgan", "/data@x: mnist\n  - override /data@x: cifar10"],
)
def test_an_experiment_that_overrides_a_group_twice_is_one_line(cli, tmp_path, twice):
    """Hydra kept the first of the two and dropped the second without a word."""
    folder = tmp_path / "myconf" / "experiment"
    folder.mkdir(parents=True)
    (folder / "mine.yaml").write_text(f"# @package _global_\ndefaults:\n  - override {twice}\n")
    run = tmp_path / "run"
    result = cli("aegan.train", f"hydra.searchpath=[file://{tmp_path / 'myconf'}]",
                 "experiment=mine", *QUICK, f"hydra.run.dir={run}")  # fmt: skip
    group = twice.split(":")[0].lstrip("/")
    first, second = (line.split(": ")[1] for line in twice.split("\n  - override "))
    assert_one_error_line(
        result, f"experiment=mine: {folder / 'mine.yaml'} overrides {group} twice in its "
        f"defaults list ({first}, then {second}): Hydra would keep {first}"
    )  # fmt: skip
    assert not run.exists()
