"""The notebooks' shared setup (``aegan.notebook``): each parameter a notebook reads from the
environment is checked before any work, and a wrong one is one ``ConfigError`` line naming
the variable, its value and what is allowed; a right one means what it meant before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from aegan import notebook
from aegan.errors import USER_ERRORS, ConfigError
from conftest import REPO

SRC = Path(notebook.__file__).resolve().parent


@pytest.mark.parametrize(
    ("value", "on"),
    [("1", True), ("0", False), ("true", True), ("False", False), ("YES", True), (" no ", False),
     (True, True), (False, False), (1, True), (0, False)],
)  # fmt: skip
def test_a_switch_takes_the_usual_words_in_any_case(value, on):
    assert notebook.checked_switch("AEGAN_NOTEBOOK_QUICK", value) is on


@pytest.mark.parametrize("value", ["on", "2", "", "quick", 2, None])
def test_any_other_switch_is_refused_not_read_as_off(value):
    with pytest.raises(ConfigError) as raised:
        notebook.checked_switch("AEGAN_NOTEBOOK_QUICK", value)
    assert str(raised.value).startswith("AEGAN_NOTEBOOK_QUICK=")
    assert str(raised.value).endswith("is not allowed: it must be 1 or 0, true or false, yes or no")


@pytest.mark.parametrize("value", ["cpu", "auto"])
def test_a_device_the_trainer_takes_is_kept(value):
    assert notebook.checked_device("AEGAN_DEVICE", value) == value


def test_a_device_the_trainer_refuses_names_the_variable():
    with pytest.raises(ConfigError) as raised:
        notebook.checked_device("AEGAN_DEVICE", "tpu")
    assert str(raised.value) == (
        "AEGAN_DEVICE='tpu' is not allowed; choose one of: auto, cpu, cuda, cuda:N"
    )


def test_cuda_where_there_is_none_names_the_variable(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"^AEGAN_DEVICE=cuda but CUDA is not available here"):
        notebook.checked_device("AEGAN_DEVICE", "cuda")


def test_a_relative_folder_is_taken_from_the_checkout(tmp_path):
    assert notebook.checked_folder("AEGAN_LOG_DIR", "logs", tmp_path) == tmp_path.resolve() / "logs"
    assert notebook.checked_path("AEGAN_RUN_DIR", "a/../b", tmp_path) == tmp_path.resolve() / "b"
    assert notebook.checked_path("AEGAN_RUN_DIR", None, tmp_path) is None


def test_a_home_folder_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert notebook.checked_folder("AEGAN_CACHE_DIR", "~/cache", REPO) == tmp_path / "cache"


@pytest.mark.parametrize("check", [notebook.checked_folder, notebook.checked_path])
def test_a_home_of_no_user_names_the_variable(check):
    with pytest.raises(ConfigError) as raised:
        check("AEGAN_LOG_DIR", "~no-such-user-aegan/x", REPO)
    assert str(raised.value) == (
        "AEGAN_LOG_DIR='~no-such-user-aegan/x' is not allowed: ~no-such-user-aegan names no "
        "home folder here"
    )


@pytest.mark.parametrize("check", [notebook.checked_folder, notebook.checked_path])
@pytest.mark.parametrize("value", ["logs\n", "a\tb", "  "])
def test_control_characters_or_nothing_name_the_variable(check, value):
    with pytest.raises(
        ConfigError, match=r"^AEGAN_DATA_DIR=.* is not allowed: it must be a"
    ) as raised:
        check("AEGAN_DATA_DIR", value, REPO)
    assert "\n" not in str(raised.value)


def test_a_file_where_the_folder_would_be_is_refused(tmp_path, monkeypatch):
    (tmp_path / "logs").write_text("")
    monkeypatch.setenv("AEGAN_LOG_DIR", str(tmp_path / "logs"))  # named once, not twice
    with pytest.raises(ConfigError) as raised:
        notebook.checked_folder("AEGAN_LOG_DIR", str(tmp_path / "logs"), tmp_path)
    assert str(raised.value) == (
        f"AEGAN_LOG_DIR={tmp_path / 'logs'} is not allowed: it is a file, not a folder"
    )
    with pytest.raises(ConfigError, match=f"{tmp_path / 'logs'} is a file, not a folder$"):
        notebook.checked_folder("AEGAN_LOG_DIR", "logs/new", tmp_path)


def test_a_run_path_may_be_a_file_or_nothing_yet(tmp_path):
    """What a run path holds is for ``load_run`` to say, in its own line."""
    (tmp_path / "last.pt").write_bytes(b"")
    assert notebook.checked_path("AEGAN_RUN_DIR", "last.pt", tmp_path) == tmp_path / "last.pt"
    assert notebook.checked_path("AEGAN_RUN_DIR", "none", tmp_path) == tmp_path / "none"


def test_the_checkout_is_found_from_below_it():
    assert notebook.find_repo_root(REPO / "notebooks") == REPO


def test_outside_a_checkout_there_is_none_in_one_line_saying_where_to_start(tmp_path):
    with pytest.raises(USER_ERRORS, match="no aegan checkout") as raised:
        notebook.find_repo_root(tmp_path)
    assert "start the notebook server in the checkout" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_current_folder_deleted_since_is_one_line(tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    with pytest.raises(USER_ERRORS, match="the current folder cannot be read"):
        notebook.find_repo_root()


def test_a_run_is_composed_into_the_log_dir(tmp_path):
    cfg = notebook.compose_run(["trainer.epochs=1"], "ae", repo=REPO, log_dir=tmp_path / "logs",
                               data_dir=tmp_path / "data")  # fmt: skip
    assert cfg.trainer.epochs == 1
    assert cfg.paths.data_dir == str(tmp_path / "data")
    output = Path(cfg.paths.output_dir)
    assert output.parent == tmp_path / "logs" / "notebooks" and output.name.startswith("ae_")


@pytest.mark.parametrize(
    ("change", "starts"),
    [({"overrides": ["=3"]}, "'=3' is not an override: it needs a key"),
     ({"overrides": ["+=3"]}, "'+=3' is not an override: it needs a key"),
     ({"overrides": ["model.latent_dim"]}, "cannot read the override 'model.latent_dim'"),
     ({"overrides": ["nope=3"]}, "nope is not a setting"),
     ({"overrides": ["model=nope"]}, "model=nope: no such option"),
     ({"overrides": "model=vae"}, "overrides='model=vae' is not allowed: it must be a list"),
     ({"overrides": [None]}, "overrides=["),
     ({"name": "../../elsewhere"}, "name='../../elsewhere' is not allowed"),
     ({"name": None}, "name=null is not allowed"),
     ({"repo": "/"}, "repo='/' is not allowed: it holds no conf/ folder"),
     ({"log_dir": 5}, "log_dir=5 is not allowed")],
)  # fmt: skip
def test_a_run_that_cannot_be_composed_is_one_line(tmp_path, change, starts):
    """Hydra's own errors came through compose_run bare ("Config group override must be a
    string or a list. Got int" for '=3'), a string of overrides was read letter by letter,
    and a name with ../ put the run outside the log folder."""
    given = {"overrides": [], "name": "ae", "repo": REPO, "log_dir": tmp_path / "logs",
             "data_dir": tmp_path / "data", **change}  # fmt: skip
    overrides, name = given.pop("overrides"), given.pop("name")
    with pytest.raises(ConfigError) as refused:
        notebook.compose_run(overrides, name, **given)
    assert str(refused.value).startswith(starts) and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("call", "starts"),
    [(lambda: notebook.find_repo_root(1), "start=1 is not allowed: it must be a folder"),
     (lambda: notebook.show_images(torch.zeros(2, 1, 8, 8), nrow=2, scale=-1), "scale=-1 is not allowed"),
     (lambda: notebook.show_images(torch.zeros(2, 1, 8, 8), nrow=2, ax=5), "ax of type int is not allowed"),
     (lambda: notebook.own_bound(None, 5), "run of type NoneType is not allowed")],
)  # fmt: skip
def test_a_helper_given_what_it_does_not_take_is_one_line(call, starts):
    """find_repo_root("notebooks") failed in 'str' object has no attribute 'resolve', a
    negative scale in matplotlib's figure and ax=5 on its imshow."""
    with pytest.raises(ConfigError) as refused:
        call()
    assert str(refused.value).startswith(starts) and "\n" not in str(refused.value)


def test_a_text_start_is_a_folder_to_look_from():
    assert notebook.find_repo_root(str(REPO / "notebooks")) == REPO


def test_images_are_shown_as_one_grid():
    pytest.importorskip("matplotlib", reason="pip install -e '.[notebooks]'")
    import matplotlib

    matplotlib.use("Agg")
    ax = notebook.show_images(torch.zeros(6, 1, 28, 28, dtype=torch.uint8), nrow=3, title="t")
    assert ax.get_title() == "t" and ax.get_images()[0].get_array().shape == (62, 92, 3)


def test_a_grid_of_fewer_images_than_columns_is_as_wide_as_its_images():
    """Two images with nrow=1000 made a figure 900 inches wide, blank but for its left end."""
    pytest.importorskip("matplotlib", reason="pip install -e '.[notebooks]'")
    import matplotlib

    matplotlib.use("Agg")
    ax = notebook.show_images(torch.zeros(2, 1, 28, 28, dtype=torch.uint8), nrow=1000)
    assert tuple(ax.figure.get_size_inches()) == pytest.approx((2 * 0.9, 0.9 + 0.4))


IMAGES = torch.linspace(0, 1, 256).view(4, 1, 8, 8)  # floats in [0, 1]


@pytest.mark.parametrize(
    ("images", "nrow", "message"),
    [(IMAGES * 255, 2, "images with values in [0, 255]: show_images takes uint8 in [0, 255] or floats in [0, 1]"),  # clamped: a white grid
     (IMAGES * 2 - 1, 2, "images with values in [-1, 1]: show_images takes uint8"),  # clamped: half of it black
     (IMAGES.mul(255).long(), 2, "images of dtype torch.int64: show_images takes uint8"),
     (IMAGES[:0], 2, "images of shape (0, 1, 8, 8): show_images takes images (N, 1 or 3, H, W)"),
     (torch.rand(2, 2, 8, 8), 2, "images of shape (2, 2, 8, 8): show_images takes"),
     (IMAGES.to("meta"), 2, "images on the meta device hold no values"),
     ([IMAGES[0]], 2, "images of type list: show_images takes images (N, 1 or 3, H, W)"),
     (IMAGES, 0, "nrow=0: the number of columns must be a positive integer"),
     (IMAGES, 2.5, "nrow=2.5: the number of columns must be a positive integer")],
)  # fmt: skip
def test_what_is_no_grid_of_images_is_one_line_not_a_clamped_grid(images, nrow, message):
    """Floats out of [0, 1] were clamped to white or black without a word; the rest failed
    in torchvision or matplotlib (a division by zero, a shape imshow cannot draw)."""
    with pytest.raises(ValueError) as caught:
        notebook.show_images(images, nrow=nrow)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_a_grid_takes_numpy_arrays_and_any_float_as_the_pixels_they_hold():
    pytest.importorskip("matplotlib", reason="pip install -e '.[notebooks]'")
    import matplotlib

    matplotlib.use("Agg")

    def drawn(images):
        return notebook.show_images(images, nrow=2).get_images()[0].get_array()

    shown = drawn(IMAGES)
    for same in (IMAGES.numpy(), IMAGES.double(), IMAGES.requires_grad_()):
        assert (drawn(same) == shown).all()
    assert abs(drawn(IMAGES.bfloat16()) - shown).max() < 0.01  # bfloat16 failed in .numpy()


def test_nothing_in_the_package_imports_it():
    """It sits above the entry points: the imports point one way."""
    importing = [
        path.relative_to(SRC)
        for path in SRC.rglob("*.py")
        if path.name != "notebook.py"
        and re.search(r"^\s*(from aegan import .*\bnotebook\b|(from|import) aegan\.notebook\b)",
                      path.read_text(), re.MULTILINE)
    ]  # fmt: skip
    assert importing == []
