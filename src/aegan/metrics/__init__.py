"""Evaluation metrics: a domain feature network, FID/KID, PRDC, class statistics, and
reconstruction metrics, as pure functions (tensors in, Python numbers out); the final
metrics of a task by name in ``aegan.metrics.registry``."""

from aegan.metrics.classes import class_histogram_stats
from aegan.metrics.classifier import (
    DomainClassifier,
    classifier_accuracy,
    extract_features,
    predict_classes,
    train_classifier,
)
from aegan.metrics.classifier_cache import classifier_recipe, load_or_train_classifier, recipe_hash
from aegan.metrics.frechet import (
    feature_statistics,
    frechet_distance,
    frechet_distance_from_stats,
    kernel_inception_distance,
)
from aegan.metrics.prdc import prdc
from aegan.metrics.reconstruction import (
    bce,
    fit_pca,
    linear_probe_accuracy,
    pca_baseline,
    psnr,
    ssim,
)

__all__ = [
    "DomainClassifier",
    "bce",
    "class_histogram_stats",
    "classifier_accuracy",
    "classifier_recipe",
    "extract_features",
    "feature_statistics",
    "fit_pca",
    "frechet_distance",
    "frechet_distance_from_stats",
    "kernel_inception_distance",
    "linear_probe_accuracy",
    "load_or_train_classifier",
    "pca_baseline",
    "predict_classes",
    "prdc",
    "psnr",
    "recipe_hash",
    "ssim",
    "train_classifier",
]

# the final metrics register themselves in aegan.metrics.registry
from aegan.metrics import definitions  # noqa: E402, F401
