"""The public metric functions a notebook calls, given what they do not take: images of
another scale, dtype or shape, features holding NaN or of two widths, labels that are not
class ids, counts that are not counts. Each is one ValueError line naming the argument and
what the function takes: they gave a figure without a word (floats in [0, 255] a PSNR of
-43 dB, NaN features a precision of 0, float labels cut to integers, epochs=0 a probe of
its random start) or failed deep in torch (an AttributeError, a LinAlgError)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from aegan.metrics import (
    DomainClassifier,
    bce,
    class_histogram_stats,
    classifier_accuracy,
    extract_features,
    feature_statistics,
    frechet_distance,
    frechet_distance_from_stats,
    kernel_inception_distance,
    linear_probe_accuracy,
    load_or_train_classifier,
    pca_baseline,
    prdc,
    predict_classes,
    psnr,
    ssim,
    train_classifier,
)
from aegan.metrics.evaluation import Evaluation, evaluate
from aegan.metrics.matching import median_distance, mmd_squared
from aegan.metrics.scope import Settings
from conftest import synthetic_data

DRAWS = torch.Generator().manual_seed(0)
IMAGES = torch.rand(6, 1, 16, 16, generator=DRAWS)  # floats in [0, 1]
FEATS = torch.randn(12, 4, generator=DRAWS)
LABELS = torch.arange(12) % 3
CLASSIFIER = DomainClassifier(num_classes=3, image_size=16)
NO_CODE = SimpleNamespace(metrics=())  # a task without InfoGAN's categorical code


def refused(call, starts: str) -> None:
    """``call()`` raises one ValueError line that starts with ``starts``."""
    with pytest.raises(ValueError) as err:
        call()
    message = str(err.value)
    assert message.startswith(starts) and "\n" not in message, message


IMAGE_TAKERS = {
    "psnr": lambda x: psnr(x, IMAGES),
    "ssim": lambda x: ssim(IMAGES, x),
    "bce": lambda x: bce(x, IMAGES),
    "pca_baseline": lambda x: pca_baseline(x, IMAGES, dim=2),
    "extract_features": lambda x: extract_features(CLASSIFIER, x),
    "predict_classes": lambda x: predict_classes(CLASSIFIER, x),
}
NOT_IMAGES = {
    "floats in [0, 255]": (IMAGES * 255, "with values in [0"),
    "floats in [-1, 1]": (IMAGES * 2 - 1, "with values in [-"),
    "NaN": (IMAGES.clone().fill_(math.nan), "holding NaN or infinity"),
    "int64 in [0, 255]": ((IMAGES * 255).long(), "of dtype torch.int64"),
    "bool": (IMAGES > 0.5, "of dtype torch.bool"),
    "no images": (IMAGES[:0], "of shape (0, 1, 16, 16)"),
    "a numpy array": (IMAGES.numpy(), "of type ndarray"),
    "a list": (IMAGES.tolist(), "of type list"),
    "on the meta device": (IMAGES.to("meta"), "on the meta device"),
}


@pytest.mark.parametrize("taker", IMAGE_TAKERS)
@pytest.mark.parametrize("given", NOT_IMAGES)
def test_images_a_metric_does_not_take_are_one_line(taker, given):
    images, problem = NOT_IMAGES[given]
    name = {"ssim": "y", "pca_baseline": "train_x"}.get(taker, "x")
    name = "images" if taker in ("extract_features", "predict_classes") else name
    refused(lambda: IMAGE_TAKERS[taker](images), f"{name} {problem}")


def test_uint8_images_and_a_data_range_read_as_the_same_images():
    """uint8 are 255ths, floats are fractions of data_range: one figure for one picture."""
    other = (IMAGES + 0.1 * torch.randn(IMAGES.shape, generator=DRAWS)).clamp(0, 1).double()
    as_bytes = (IMAGES * 255).round().to(torch.uint8)
    for metric in (psnr, ssim):
        expected = metric(as_bytes.double() / 255, other)
        assert metric(as_bytes, other) == pytest.approx(expected, rel=1e-12)
        assert metric(as_bytes.double(), other * 255, data_range=255) == pytest.approx(
            expected, rel=1e-12
        )
    refused(lambda: psnr(IMAGES, other[:, :, :8]), "x of shape (6, 1, 16, 16) and y of shape")


FEATURE_TAKERS = {
    "feature_statistics": (lambda a: feature_statistics(a), "feats"),
    "frechet_distance": (lambda a: frechet_distance(FEATS, a), "feats_b"),
    "kernel_inception_distance": (lambda a: kernel_inception_distance(a, FEATS), "feats_a"),
    "prdc": (lambda a: prdc(FEATS, a), "fake_feats"),
    "linear_probe_accuracy": (lambda a: linear_probe_accuracy(a, LABELS, FEATS, LABELS), "train_codes"),
    "mmd_squared": (lambda a: mmd_squared(FEATS, a, 1.0), "b"),
    "median_distance": (lambda a: median_distance(a), "x"),
    "frechet_distance_from_stats": (lambda a: frechet_distance_from_stats(
        FEATS.mean(0), torch.eye(4), FEATS.mean(0), torch.cov(a.T) if a.dim() == 2 and not a.is_meta else a), "sigma2"),
}  # fmt: skip
NOT_FEATURES = {
    "NaN": (FEATS.clone().fill_(math.nan), "holding NaN or infinity"),
    "infinity": (FEATS.clone().fill_(math.inf), "holding NaN or infinity"),
    "complex": (FEATS.to(torch.complex64), "of dtype torch.complex64"),
    "a vector": (FEATS[:, 0], "of shape (12,)"),
    "on the meta device": (FEATS.to("meta"), "on the meta device"),
}


@pytest.mark.parametrize("taker", FEATURE_TAKERS)
@pytest.mark.parametrize("given", NOT_FEATURES)
def test_features_a_metric_does_not_take_are_one_line(taker, given):
    call, name = FEATURE_TAKERS[taker]
    features, problem = NOT_FEATURES[given]
    if taker == "frechet_distance_from_stats" and given == "a vector":
        problem = "of shape (12,)"
    refused(lambda: call(features), f"{name} {problem}")


@pytest.mark.parametrize(
    ("call", "starts"),
    [(lambda: frechet_distance(FEATS, FEATS[:, :3]), "feats_b of shape (12, 3): frechet_distance takes features (N >= 2, 4)"),
     (lambda: prdc(FEATS[:, :3], FEATS), "fake_feats of shape (12, 4): prdc with k=3 takes features (N >= 4, 3)"),
     (lambda: linear_probe_accuracy(FEATS, LABELS, FEATS[:, :3], LABELS), "test_codes of shape (12, 3)"),
     (lambda: frechet_distance_from_stats(FEATS.mean(0), torch.eye(4), FEATS.mean(0)[:3], torch.eye(3)), "mu2 of shape (1, 3)"),
     (lambda: kernel_inception_distance(FEATS[:1], FEATS), "feats_a of shape (1, 4)"),
     (lambda: median_distance(FEATS[:1]), "x of shape (1, 4)"),
     (lambda: extract_features(CLASSIFIER, IMAGES[:, :, :8, :8]), "images of shape (6, 1, 8, 8): extract_features takes images (N, 1, 16, 16)"),
     (lambda: predict_classes(CLASSIFIER, IMAGES.expand(6, 3, 16, 16)), "images of shape (6, 3, 16, 16): predict_classes takes images (N, 1, 16, 16)")],
)  # fmt: skip
def test_features_of_two_widths_or_too_few_or_images_of_another_shape_are_one_line(call, starts):
    refused(call, starts)


LABEL_TAKERS = {
    "class_histogram_stats": (lambda y: class_histogram_stats(y, LABELS, 3), "pred_labels"),
    "linear_probe_accuracy": (lambda y: linear_probe_accuracy(FEATS, LABELS, FEATS, y), "test_labels"),
    "classifier_accuracy": (lambda y: classifier_accuracy(CLASSIFIER, IMAGES, y[:6]), "labels"),
    "train_classifier": (lambda y: train_classifier(IMAGES, y[:6], num_classes=3), "labels"),
}  # fmt: skip
NOT_LABELS = {
    "floats": (LABELS + 0.5, "of dtype torch.float32"),
    "negative": (LABELS - 1, "with ids from -1"),
    "a matrix": (LABELS.view(2, 6).repeat(1, 2), "of shape (2, 12)"),
    "a list": (LABELS.tolist(), "of type list"),
}


@pytest.mark.parametrize("taker", LABEL_TAKERS)
@pytest.mark.parametrize("given", NOT_LABELS)
def test_labels_a_metric_does_not_take_are_one_line(taker, given):
    call, name = LABEL_TAKERS[taker]
    labels, problem = NOT_LABELS[given]
    refused(lambda: call(labels), f"{name} {problem}")


@pytest.mark.parametrize(
    ("call", "starts"),
    [(lambda: class_histogram_stats(LABELS, LABELS, 2), "pred_labels with ids from 0 to 2"),
     (lambda: class_histogram_stats(LABELS, LABELS[:0], 3), "real_labels of shape (0,)"),
     (lambda: train_classifier(IMAGES, LABELS[:6], num_classes=2), "labels with ids from 0 to 2"),
     (lambda: linear_probe_accuracy(FEATS, LABELS[:5], FEATS, LABELS), "train_labels of shape (5,) for train_codes of shape (12, 4)"),
     (lambda: classifier_accuracy(CLASSIFIER, IMAGES, LABELS), "labels of shape (12,) for images of shape (6, 1, 16, 16)")],
)  # fmt: skip
def test_labels_of_other_classes_or_counts_are_one_line(call, starts):
    refused(call, starts)


COUNT_TAKERS = {
    "kernel_inception_distance subsets": lambda v: kernel_inception_distance(FEATS, FEATS, subsets=v),
    "kernel_inception_distance seed": lambda v: kernel_inception_distance(FEATS, FEATS, seed=v),
    "prdc k": lambda v: prdc(FEATS, FEATS, k=v),
    "prdc chunk_size": lambda v: prdc(FEATS, FEATS, chunk_size=v),
    "ssim window_size": lambda v: ssim(IMAGES, IMAGES, window_size=v),
    "ssim sigma": lambda v: ssim(IMAGES, IMAGES, sigma=v),
    "psnr data_range": lambda v: psnr(IMAGES, IMAGES, data_range=v),
    "mmd_squared bandwidth": lambda v: mmd_squared(FEATS, FEATS, v),
    "linear_probe_accuracy epochs": lambda v: linear_probe_accuracy(FEATS, LABELS, FEATS, LABELS, epochs=v),
    "linear_probe_accuracy weight_decay": lambda v: linear_probe_accuracy(FEATS, LABELS, FEATS, LABELS, weight_decay=v),
    "class_histogram_stats num_classes": lambda v: class_histogram_stats(LABELS, LABELS, v),
    "class_histogram_stats min_share": lambda v: class_histogram_stats(LABELS, LABELS, 3, min_share=v),
    "extract_features batch_size": lambda v: extract_features(CLASSIFIER, IMAGES, batch_size=v),
    "train_classifier epochs": lambda v: train_classifier(IMAGES, LABELS[:6], num_classes=3, epochs=v),
    "train_classifier lr": lambda v: train_classifier(IMAGES, LABELS[:6], num_classes=3, lr=v),
}  # fmt: skip
NOT_COUNTS = [-1, math.nan, True, "3", None]


@pytest.mark.parametrize("taker", COUNT_TAKERS)
@pytest.mark.parametrize("value", NOT_COUNTS, ids=repr)
def test_numbers_a_metric_does_not_take_are_one_line(taker, value):
    name = taker.split()[1]
    refused(lambda: COUNT_TAKERS[taker](value), f"{name}={value!r}: ")


@pytest.mark.parametrize(
    ("call", "starts"),
    [(lambda data: Evaluation(None, data, {"samples": 5}), "settings of type dict: Evaluation takes"),
     (lambda data: Evaluation(None, data, None), "settings of type NoneType: Evaluation takes"),
     (lambda data: Evaluation(None, {"test_images": data.test_images}, Settings()), "data of type dict: Evaluation takes"),
     (lambda data: evaluate(None, data, ["reconstruction"], Settings()), "task of type NoneType: Evaluation computes"),
     (lambda data: Settings(probe_train=-1), "probe_train=-1 is not allowed: it must be an integer in [1, "),
     (lambda data: Settings(probe_train=2.5), "probe_train=2.5 is not allowed"),
     (lambda data: Settings(cache_dir=None), "cache_dir=null is not allowed: it must be a folder's path"),
     (lambda data: Settings(progress="no"), "progress='no' is not allowed: it must be True or False"),
     (lambda data: Settings(inception_weights=5), "inception_weights=5 is not allowed"),
     (lambda data: Evaluation(NO_CODE, data, Settings()).code_class_counts(0), "per_value=0: "),
     (lambda data: Evaluation(NO_CODE, data, Settings()).code_class_counts(10), "SimpleNamespace has no categorical code")],
)  # fmt: skip
def test_what_an_evaluation_is_given_that_it_does_not_take_is_one_line(call, starts):
    """A dict of settings failed on its first attribute read, deep in a metric; probe_train=-1
    fitted the probe on all the training codes but one."""
    refused(lambda: call(synthetic_data(16)), starts)


@pytest.mark.parametrize(
    ("name", "cache_dir", "starts"),
    [("../../elsewhere", "cache", "dataset_name='../../elsewhere': load_or_train_classifier takes"),
     (None, "cache", "dataset_name=None: "),
     ("fashion_mnist", None, "cache_dir=null is not allowed")],
)  # fmt: skip
def test_a_classifier_cache_named_outside_its_folder_is_one_line(tmp_path, name, cache_dir, starts):
    """A data set's name of ../ wrote the cached classifier outside cache_dir, and a None
    one was cached as classifier-None-*.pt; cache_dir=None failed inside pathlib."""
    folder = None if cache_dir is None else tmp_path / cache_dir
    refused(
        lambda: load_or_train_classifier(name, IMAGES, LABELS[:6], num_classes=3, cache_dir=folder),
        starts,
    )
    assert not any(tmp_path.rglob("*.pt"))  # refused before any training or file


DEVICE_TAKERS = {
    "train_classifier": lambda v, _: train_classifier(IMAGES, LABELS[:6], num_classes=3, device=v),
    "load_or_train_classifier": lambda v, folder: load_or_train_classifier(
        "fashion_mnist", IMAGES, LABELS[:6], num_classes=3, cache_dir=folder, device=v
    ),
}


@pytest.mark.parametrize("taker", DEVICE_TAKERS)
@pytest.mark.parametrize("value", ["bogus", "", 5, None, torch.device("meta")], ids=repr)
def test_a_device_a_metric_cannot_compute_on_is_one_line(tmp_path, taker, value):
    """device='bogus' was torch's RuntimeError, device=5 a CUDA error once training began."""
    shown = repr(str(value) if isinstance(value, torch.device) else value).replace("None", "null")
    refused(lambda: DEVICE_TAKERS[taker](value, tmp_path), f"device={shown} is not allowed; ")
    assert not any(tmp_path.rglob("*.pt"))  # refused before any training or file
