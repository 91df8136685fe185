"""The final metrics, by name: one registry for the end of training and ``aegan.evaluate``.

A task lists the names it reports (``Task.metrics``); each metric says what it needs of the
task (``encode``, ``reconstruct``, ``sample``: ``aegan.contract``) and computes its figures
from an ``Evaluation``, which computes what several metrics share (reconstructions, the
domain classifier, features of real, generated and floor images) once. How they are
computed (``Settings``) and what their checks see (``Scope``): ``aegan.metrics.scope``.

Protocol
- Reconstruction (``reconstruction``): test MSE and BCE per pixel, PSNR, SSIM (Wang et al.
  2004, 11x11 Gaussian window, sigma 1.5, on the valid region, as skimage computes it).
- Likelihood (``elbo``, ``iwae``, ``active_units``; VAEs): -ELBO and its reconstruction and
  KL terms with one z per test image, and -log p(x) bounded with ``iwae_samples`` importance
  samples (Burda et al. 2016), nats per image; latent dimensions whose posterior mean
  varies over the test set by more than 0.01.
- Codes (``probe``, ``pca``): a linear probe (logistic regression from code to label, fit on
  ``probe_train`` training codes, scored on the test codes); PCA at the task's code size,
  one basis fitted on the whole training split for both its test MSE and its probe (no MSE
  where the code is as wide as an image: PCA then reconstructs exactly).
- Codes against their prior (``prior_match``; adversarial autoencoders): MMD^2 between test
  codes (draws of q(z|x) for a Gaussian encoder) and prior draws, with its floor from two
  prior draws. A categorical code's control of the class (``code_control``; InfoGAN): the
  domain classifier's accuracy on 1,000 samples per code value after the best one-to-one
  matching of code values to classes.
- Samples (``classifier``, ``fd``, ``kid``, ``prdc``, ``classes``, ``inception``): features
  are the penultimate layer of a small CNN trained on the training split minus ``n`` held-out
  images (``aegan.metrics.classifier``, cached). ``n`` = min(samples, test images, a fifth of
  the training split) generated images against the first ``n`` test images: Frechet
  distance, KID, precision/recall/density/coverage (k=3), the class histogram. Each has its
  real floor: the held-out training images, which the classifier never saw, in their place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aegan.metrics.limits import Needs
from aegan.metrics.scope import Scope

CHUNK = 1000  # images per forward pass
ANY_DATA = Needs()  # one test image, any classes


@dataclass(frozen=True)
class Metric:
    needs: tuple[str, ...]  # task capabilities
    compute: Callable[[Any], dict[str, float]]  # of an aegan.metrics.evaluation.Evaluation
    check: Callable[[Scope], None] | None = None  # ConfigError for settings it cannot work with
    data: Needs = ANY_DATA


METRICS: dict[str, Metric] = {}


def metric(
    name: str, needs: tuple[str, ...] = (), check: Callable[[Scope], None] | None = None,
    data: Needs = ANY_DATA,
) -> Callable:  # fmt: skip
    """Register ``fn(evaluation) -> {key: value}`` as the metric ``name``; ``check(scope)``
    refuses, before any data is read, the settings it cannot be computed with, and ``data``
    the data it cannot be computed on."""

    def register(fn: Callable[[Any], dict[str, float]]) -> Callable:
        METRICS[name] = Metric(needs, fn, check, data)
        return fn

    return register


def measurable(names: Iterable[str], data: Any) -> tuple[str, ...]:
    """``names`` less the metrics that need class labels where ``data`` holds one class
    (refused, or said, by ``check_classes``): those computed, whose sizes are recorded."""
    one_class = len(data.classes) < 2
    return tuple(name for name in names if not (one_class and METRICS[name].data.labels))
