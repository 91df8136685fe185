"""The domain classifier behind the sample metrics: its shapes, its cache key, its learning
and its cache on real Fashion-MNIST."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import aegan.metrics.classifier_cache as classifier_cache
from aegan.metrics import (
    DomainClassifier,
    classifier_accuracy,
    classifier_recipe,
    extract_features,
    load_or_train_classifier,
    predict_classes,
    recipe_hash,
)
from conftest import REPO, Touch

pytestmark = pytest.mark.usefixtures("one_thread_module")


# --- domain classifier ----------------------------------------------------------------------


def test_classifier_shapes():
    model = DomainClassifier(in_channels=3, num_classes=7, image_size=32).eval()
    x = torch.rand(5, 3, 32, 32)
    assert model.features(x).shape == (5, 128)
    assert model(x).shape == (5, 7)


def test_recipe_hash_is_stable_and_tracks_the_data(fashion):
    x, y = fashion["train_x"][:500], fashion["train_y"][:500]
    first = recipe_hash(classifier_recipe(x, y, num_classes=10))
    assert first == recipe_hash(classifier_recipe(x.clone(), y.clone(), num_classes=10))
    assert len(first) == 10
    assert first != recipe_hash(classifier_recipe(x[:400], y[:400], num_classes=10))
    assert first != recipe_hash(classifier_recipe(x, y, num_classes=10, epochs=1))


CLASSIFIER_SUBSET = {"num_classes": 10, "epochs": 3, "progress": False}


@pytest.fixture(scope="module")
def trained(fashion, tmp_path_factory):
    """A classifier trained on 10k images for 3 epochs (~88% test accuracy), cached in a tmp dir."""
    cache_dir = tmp_path_factory.mktemp("classifier-cache")
    model = load_or_train_classifier(
        "fashion-subset",
        fashion["train_x"][:10_000],
        fashion["train_y"][:10_000],
        cache_dir=cache_dir,
        **CLASSIFIER_SUBSET,
    )
    return model, cache_dir


@pytest.mark.slow
def test_classifier_learns_fashion_mnist_subset(trained, fashion):
    model, _ = trained
    test_x, test_y = fashion["test_x"][:2000], fashion["test_y"][:2000]
    assert classifier_accuracy(model, test_x, test_y) >= 0.85
    # uint8 and float-in-[0, 1] inputs mean the same thing.
    assert torch.equal(
        predict_classes(model, test_x[:100]), predict_classes(model, test_x[:100].float() / 255)
    )
    assert extract_features(model, test_x[:10]).shape == (10, 128)


@pytest.mark.slow
def test_classifier_cache_reloads_without_training(trained, fashion, monkeypatch):
    model, cache_dir = trained
    files = sorted(p.name for p in cache_dir.iterdir())
    assert len(files) == 1 and files[0].startswith("classifier-fashion-subset-")
    assert files[0].endswith(".pt")

    def no_training(*args, **kwargs):
        raise AssertionError("the cached classifier should have been loaded")

    monkeypatch.setattr(classifier_cache, "train_classifier", no_training)
    reloaded = load_or_train_classifier(
        "fashion-subset",
        fashion["train_x"][:10_000],
        fashion["train_y"][:10_000],
        cache_dir=cache_dir,
        **CLASSIFIER_SUBSET,
    )
    x = fashion["test_x"][:50]
    assert torch.allclose(extract_features(reloaded, x), extract_features(model, x))


def _damaged_caches(path: Path, state: dict) -> dict:
    """Ways the cached file at ``path`` can fail to be the classifier."""
    bad_shape = {**state, "state_dict": {k: v[:1] if v.dim() else v
                                         for k, v in state["state_dict"].items()}}  # fmt: skip
    not_finite = {**state, "state_dict": {k: torch.full_like(v, math.nan) if v.is_floating_point()
                                          else v for k, v in state["state_dict"].items()}}  # fmt: skip
    other_dtypes = {**state, "state_dict": {k: v.double() for k, v in state["state_dict"].items()}}
    # a few bytes of file for 2**62 elements: no cast or finiteness check can make it whole
    first = next(iter(state["state_dict"]))
    stride_0 = {**state, "state_dict": {**state["state_dict"], first: torch.zeros(
        1, dtype=torch.float64).expand(2**31, 2**31)}}  # fmt: skip
    return {
        "garbage": lambda: path.write_bytes(b"garbage"),
        "empty": lambda: path.write_bytes(b""),
        "a list": lambda: torch.save([1, 2], path),
        "no recipe": lambda: torch.save({"state_dict": state["state_dict"]}, path),
        "other recipe": lambda: torch.save({**state, "recipe": {"epochs": 99}}, path),
        "other shapes": lambda: torch.save(bad_shape, path),
        "not finite": lambda: torch.save(not_finite, path),
        "other dtypes": lambda: torch.save(other_dtypes, path),  # load_state_dict would cast
        "a stride-0 entry": lambda: torch.save(stride_0, path),
        "a folder": lambda: path.mkdir(),
        "a fifo": lambda: os.mkfifo(path),  # torch.load waited on it forever
        "a code pickle": lambda: torch.save({**state, "x": Touch(path.with_name("ran"))}, path),
    }


# the file's tensors against the model's own, names, shapes and dtypes before any value
REASONS = {"other shapes": "shape differs: ", "other dtypes": "dtype differs: ",
           "a stride-0 entry": "shape differs: ", "not finite": "hold NaN or inf",
           "a code pickle": "beyond tensors and plain containers"}  # fmt: skip


@pytest.mark.parametrize(
    "damage", ["garbage", "empty", "a list", "no recipe", "other recipe", "other shapes",
               "not finite", "other dtypes", "a stride-0 entry", "a folder", "a fifo",
               "a code pickle"],
)  # fmt: skip
def test_a_damaged_cache_is_trained_again_with_one_warning(fashion, tmp_path, caplog, damage):
    x, y = fashion["train_x"][:256], fashion["train_y"][:256]
    tiny = {"num_classes": 10, "epochs": 1, "progress": False}
    load_or_train_classifier("tiny", x, y, cache_dir=tmp_path, **tiny)
    (path,) = tmp_path.glob("classifier-tiny-*.pt")
    state = torch.load(path, weights_only=True)
    path.unlink()
    _damaged_caches(path, state)[damage]()
    model = load_or_train_classifier("tiny", x, y, cache_dir=tmp_path, **tiny)
    assert extract_features(model, x[:4]).isfinite().all()
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "is not a usable cached classifier" in warned[0], warned
    assert REASONS.get(damage, "") in warned[0], warned
    assert len(warned) == 1 + (damage == "a folder"), warned  # then it cannot be written either
    assert "weights_only" not in warned[0], warned  # torch's advice: load it with full pickle
    assert not (tmp_path / "ran").exists()


def test_a_cache_folder_that_cannot_be_written_is_one_warning(fashion, tmp_path, caplog):
    (tmp_path / "file").write_text("")
    x, y = fashion["train_x"][:256], fashion["train_y"][:256]
    model = load_or_train_classifier("tiny", x, y, cache_dir=tmp_path / "file", num_classes=10,
                                     epochs=1, progress=False)  # fmt: skip
    assert extract_features(model, x[:4]).isfinite().all()
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and "the classifier is not cached" in warned[0], warned


PEAK_MEMORY = """
import resource, sys, torch
from pathlib import Path
from aegan.metrics.classifier_cache import _load_cached
recipe = torch.load(sys.argv[1], weights_only=True)["recipe"]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert _load_cached(Path(sys.argv[1]), recipe, 10) is None
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_a_cached_entry_is_refused_by_its_shape_before_its_values_are_read(tmp_path):
    """A stride-0 entry: 8 bytes in the file, 1.5 GB once cast to float and checked (the
    peak memory measured in a process of its own)."""
    images = torch.zeros(16, 1, 28, 28, dtype=torch.uint8)
    recipe = classifier_recipe(images, torch.arange(16) % 10, num_classes=10, epochs=1)
    state = DomainClassifier(in_channels=1, num_classes=10, image_size=28).state_dict()
    state[next(iter(state))] = torch.zeros(1, dtype=torch.float64).expand(12_000, 12_000)
    path = tmp_path / "classifier.pt"
    torch.save({"recipe": recipe, "state_dict": state}, path)
    result = subprocess.run([sys.executable, "-c", PEAK_MEMORY, str(path)], cwd=REPO,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "shape differs: " in result.stderr, result.stderr[-2000:]
    assert int(result.stdout) < 100, f"{result.stdout} MiB"
