"""Splits too small for what a run measures are refused before any image is read, and a
final evaluation that fails anyway ends the run as failed, not as a success."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

import aegan.train
from aegan.errors import ConfigError
from aegan.metrics import registry
from aegan.metrics.choice import check_metrics
from aegan.metrics.scope import Scope, Settings
from conftest import TINY_AE, assert_one_error_line


def image_folder(root, classes: int = 12, per_class: int = 10):
    """``classes`` sub-folders of random 16x16 PNGs (``classes=1``: a flat folder)."""
    rng = np.random.default_rng(0)
    for c in range(classes):
        folder = root / f"c{c}" if classes > 1 else root
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def folder_run(root, *overrides: str) -> list[str]:
    return ["data=image_folder", f"data.root={root}", "data.image_size=16", "data.val_size=20",
            "data.test_size=20", "data.batch_size=16", "trainer.epochs=1", "trainer.device=cpu",
            *overrides]  # fmt: skip


@pytest.fixture
def no_data_read(monkeypatch):
    """A run that gets as far as reading its data fails the test."""

    def read(*args, **kwargs):
        raise AssertionError("the data was read")

    monkeypatch.setattr(aegan.train, "load_data", read)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model=vae", "data.test_size=0"],
         "data.test_size=0 is too small for the final metric elbo: it needs at least 1 test "
         "image"),
        (["model=vae", "data.test_size=1", "evaluate.metrics=[fd]"],
         "data.test_size=1 is too small for the final metric fd: it needs at least 2 test images"),
        (["model=vae", "data.test_size=3", "evaluate.metrics=[prdc]"],
         "data.test_size=3 is too small for the final metric prdc: it needs at least 4"),
        (["model=bigan", "data.val_size=1"],
         "data.val_size=1 is too small for bigan: its validation objective val/pixel_fd"),
        (["model=dcgan", "data.subset=8", "data.batch_size=8"],
         "data.subset=8 leaves 8 training images, a fifth of which (1) are the real floor of "
         "the final metric fd: it needs at least 2"),
    ],
)  # fmt: skip
def test_splits_too_small_for_the_run_are_refused_before_reading(
    cli, tmp_path, no_data_read, overrides, message
):
    root = image_folder(tmp_path / "images")
    result = cli("aegan.train", *folder_run(root, *overrides), f"hydra.run.dir={tmp_path}/run")
    assert_one_error_line(result, message)


@pytest.mark.parametrize("model", ["dcgan", "vae_gan", "infogan"])
def test_every_gan_objective_needs_two_validation_images(cli, tmp_path, no_data_read, model):
    result = cli("aegan.train", f"model={model}", "data.val_size=1", "data.subset=256",
                 f"hydra.run.dir={tmp_path}/run")  # fmt: skip
    assert_one_error_line(result, f"data.val_size=1 is too small for {model}")


def test_a_metric_that_needs_no_test_image_takes_an_empty_test_split():
    class Coded:
        metrics = ("code_control",)

        def generate_with_code(self, value, count, generator):
            raise AssertionError("not computed by a check")

    scope = Scope(Settings(), (1, 16, 16), 0, train_images=100)
    assert check_metrics(Coded(), None, scope=scope) == ("code_control",)
    with pytest.raises(ConfigError, match="data.test_size=0 is too small"):
        check_metrics(Coded(), ["classifier"], scope=scope)


def test_a_failed_final_evaluation_ends_the_run_as_failed(cli, tmp_path, monkeypatch):
    """It logged an error and exited 0 with no test figures; the training's own record is
    still written."""

    def broken(ev):
        raise RuntimeError("max(): Expected reduction dim to be specified for input.numel() == 0")

    metric = dataclasses.replace(registry.METRICS["reconstruction"], compute=broken)
    monkeypatch.setitem(registry.METRICS, "reconstruction", metric)
    run = tmp_path / "run"
    overrides = [o for o in TINY_AE if not o.startswith("evaluate.at_end")]
    result = cli("aegan.train", *overrides, "data.subset=256", "logger=none",
                 "evaluate.metrics=[reconstruction]", f"hydra.run.dir={run}")  # fmt: skip
    assert_one_error_line(result, "final evaluation failed (RuntimeError: max(): ")
    assert f"python -m aegan.evaluate run={run}" in result.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert "train/steps" in metrics and "test/mse" not in metrics


def test_a_run_with_no_test_split_trains_to_its_end(cli, tmp_path):
    """data.test_size=0 without a final evaluation: the projector's sprite of no test images
    divided by zero after training, a traceback where the run had trained."""
    root = image_folder(tmp_path / "images", classes=1, per_class=40)
    run = tmp_path / "run"
    overrides = [
        *folder_run(root, "data.test_size=0", "evaluate.at_end=false"),
        "data.batch_size=8",
    ]
    result = cli("aegan.train", *overrides, f"hydra.run.dir={run}")
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]
    assert (run / "checkpoints" / "last.pt").is_file() and "Traceback" not in result.stderr
