"""The data a run trained on, kept as a fingerprint: files changed under the same settings
are refused by a resume and an evaluation, and named by ``load_run``."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from test_hostile_resume import every_file
from test_split_limits import folder_run, image_folder

from aegan.data.fingerprint import changed_splits, data_fingerprint, describe_change
from aegan.errors import ConfigError, DataFileError
from conftest import assert_one_error_line, synthetic_data


def _add_images(root, count: int = 5) -> None:
    rng = np.random.default_rng(1)
    for i in range(count):
        pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "c0" / f"new-{i}.png")


@pytest.fixture
def folder_and_run(tmp_path, cli):
    images = image_folder(tmp_path / "images", classes=3, per_class=30)
    run = tmp_path / "run"
    args = [*folder_run(images, "evaluate.at_end=false", "logger=none"), f"hydra.run.dir={run}"]
    assert cli("aegan.train", *args).returncode == 0
    return images, run, args


def test_the_fingerprint_names_each_changed_split():
    data = synthetic_data(64)
    before = data_fingerprint(data)
    assert changed_splits(before, data_fingerprint(data)) == []
    data.test_images = data.test_images.clone()  # the synthetic splits share one tensor
    data.test_images[0, 0, 0, 0] ^= 1
    now = data_fingerprint(data)
    assert changed_splits(before, now) == ["test"]
    assert "test split (" in describe_change(before, now, ["test"])
    assert changed_splits(None, now) == []


def test_a_resume_on_changed_files_is_refused_and_changes_nothing(folder_and_run, cli):
    """Files added to the folder redraw its splits: the resume trained on images it had
    measured as unseen, and its final figures counted images it had trained on."""
    images, run, args = folder_and_run
    _add_images(images)
    before = every_file(run)
    result = cli("aegan.train", *args, "trainer.resume=auto", "trainer.epochs=2")
    assert_one_error_line(result, "are not those the run trained on")
    assert "train split (" in result.stderr
    assert every_file(run) == before


def test_a_resume_on_changed_files_into_a_new_folder_leaves_no_folder(folder_and_run, cli):
    """Refused before Hydra makes the new run's folder: it was left behind, holding a
    train.log and a failed.json of a run that never began."""
    images, run, args = folder_and_run
    _add_images(images)
    new = run.parent / "continued"
    args = [a for a in args if not a.startswith("hydra.run.dir=")]
    result = cli("aegan.train", *args, f"trainer.resume={run}", "trainer.epochs=2",
                 f"hydra.run.dir={new}")  # fmt: skip
    assert_one_error_line(result, f"trainer.resume={run}: the image_folder images at data.root=")
    assert not new.exists()


def test_a_resume_on_the_same_files_moved_goes_on(folder_and_run, cli, tmp_path):
    images, run, args = folder_and_run
    moved = images.rename(tmp_path / "moved")
    args = [a.replace(str(images), str(moved)) for a in args]
    result = cli("aegan.train", *args, "trainer.resume=auto", "trainer.epochs=2")
    assert result.returncode == 0, result.stderr[-2000:]


def test_load_run_on_changed_files_says_so(folder_and_run, caplog):
    """A notebook may look at other data, but its figures were measured on the run's."""
    from aegan import load_run

    images, run, _ = folder_and_run
    load_run(run)
    assert "not those the run trained on" not in caplog.text
    _add_images(images)
    load_run(run)
    assert "Run.data: the image_folder images at data.root=" in caplog.text
    assert "not those the run trained on" in caplog.text
    with pytest.raises(DataFileError, match="not those the run trained on"):
        load_run(run, changed_data="refuse")
    with pytest.raises(ConfigError, match="changed_data='no' is not allowed; choose warn or"):
        load_run(run, changed_data="no")


def test_an_evaluation_on_changed_files_is_refused_and_changes_nothing(folder_and_run, cli):
    """Figures of other images would be written into the run's metrics.json as its own."""
    images, run, _ = folder_and_run
    _add_images(images)
    before = every_file(run)
    result = cli("aegan.evaluate", f"run={run}", "metrics=[reconstruction]")
    assert_one_error_line(result, "are not those the run trained on")
    assert every_file(run) == before  # evaluate.log too: the evaluation never began
