"""The final metrics, by name: one registry for the end of training and ``aegan.evaluate``.

A task lists the names it reports (``Task.metrics``); each metric says what it needs of the
task (``encode``, ``reconstruct``, ``sample``: ``aegan.contract``) and computes its figures
from an ``Evaluation``, which computes what several metrics share (reconstructions, the
domain classifier, features of real, generated and floor images) once.

Protocol
- Reconstruction (``reconstruction``): test MSE and BCE per pixel, PSNR, SSIM (Wang et al.
  2004, 11x11 Gaussian window, sigma 1.5, on the valid region, as skimage computes it).
- Likelihood (``elbo``, ``iwae``, ``active_units``; VAEs): -ELBO and its reconstruction and
  KL terms with one z per test image, and -log p(x) bounded with ``iwae_samples`` importance
  samples (Burda et al. 2016), nats per image; latent dimensions whose posterior mean
  varies over the test set by more than 0.01.
- Codes (``probe``, ``pca``): a linear probe (logistic regression from code to label, fit on
  ``probe_train`` training codes, scored on the test codes); PCA at the task's code size,
  one basis fitted on the whole training split for both its test MSE and its probe.
- Samples (``classifier``, ``fd``, ``kid``, ``prdc``, ``classes``, ``inception``): features
  are the penultimate layer of a small CNN trained on the training split minus ``n`` held-out
  images (``aegan.metrics.classifier``, cached). ``n`` = min(samples, test images, a fifth of
  the training split) generated images against the first ``n`` test images: Frechet
  distance, KID, precision/recall/density/coverage (k=3), the class histogram. Each has its
  real floor: the held-out training images, which the classifier never saw, in their place.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from aegan.data import normalize
from aegan.errors import ConfigError
from aegan.metrics.classes import class_histogram_stats
from aegan.metrics.classifier import (
    classifier_accuracy,
    extract_features,
    load_or_train_classifier,
    predict_classes,
)
from aegan.metrics.frechet import frechet_distance, kernel_inception_distance
from aegan.metrics.inception import inception_metrics
from aegan.metrics.prdc import prdc
from aegan.metrics.reconstruction import (
    bce,
    fit_pca,
    linear_probe_accuracy,
    psnr,
    ssim,
)

CHUNK = 1000  # images per forward pass
IWAE_BATCH = 20000  # decodes per forward pass of the IWAE bound


def can(task: Any, capability: str) -> bool:
    """Whether ``task`` has ``capability`` (see ``aegan.contract``)."""
    return callable(getattr(task, capability, None))


@dataclass(frozen=True)
class Settings:
    """How the final metrics are computed (``evaluate.*`` in the config)."""

    samples: int = 10000
    cache_dir: str | Path = "~/.cache/aegan"
    seed: int = 0
    probe_train: int = 10000
    inception_weights: str | None = None
    progress: bool = True
    iwae_samples: int = 1000  # k, the importance samples per image of the IWAE bound
    iwae_images: int | None = None  # test images it is computed on; None: all


@dataclass(frozen=True)
class Metric:
    needs: tuple[str, ...]  # task capabilities
    compute: Callable[[Evaluation], dict[str, float]]


METRICS: dict[str, Metric] = {}


def metric(name: str, needs: tuple[str, ...] = ()) -> Callable:
    """Register ``fn(evaluation) -> {key: value}`` as the metric ``name``."""

    def register(fn: Callable[[Evaluation], dict[str, float]]) -> Callable:
        METRICS[name] = Metric(needs, fn)
        return fn

    return register


def check_metric_names(names: Any, key: str = "evaluate.metrics") -> tuple[str, ...]:
    """``names`` as a tuple of registered metric names; ``ConfigError`` naming ``key`` else."""
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise ConfigError(f"{key}={names!r} is not allowed: it must be a list of names")
    names = tuple(names)
    for name in names:
        if not isinstance(name, str) or name not in METRICS:
            raise ConfigError(f"{key}: {name!r} is not a metric; choose from: {', '.join(METRICS)}")
    return names


def check_metrics(task: Any, names: Any, key: str = "evaluate.metrics") -> tuple[str, ...]:
    """The metric names to compute for ``task``: ``names`` (a list) checked, or the task's own.

    Raises ``ConfigError`` naming ``key`` for a name that is not a metric, or one the task
    cannot give.
    """
    if names is None:
        return tuple(task.metrics)
    names = check_metric_names(names, key)
    for name in names:
        missing = [need for need in METRICS[name].needs if not can(task, need)]
        if missing:
            raise ConfigError(
                f"{key}: {name!r} needs a model that can {' and '.join(missing)}, "
                f"which {type(task).__name__} cannot; its metrics are: {', '.join(task.metrics)}"
            )
    return names


def evaluate(task: Any, data: Any, names: Iterable[str], settings: Settings) -> dict[str, float]:
    """The metrics ``names`` (checked by ``check_metrics``) of ``task`` on ``data``'s test split."""
    return Evaluation(task, data, settings).compute(names)


class Evaluation:
    """What the metrics of one task on one data set share, each computed once when asked."""

    def __init__(self, task: Any, data: Any, settings: Settings) -> None:
        self.task, self.data, self.settings = task, data, settings
        self.device = data.test_images.device
        self._computed: dict[str, torch.Tensor] = {}

    def compute(self, names: Iterable[str]) -> dict[str, float]:
        """The figures of the metrics ``names``, sharing what they share."""
        out: dict[str, float] = {}
        for name in names:
            out.update(METRICS[name].compute(self))
        return out

    def _map(self, fn: Callable[[torch.Tensor], torch.Tensor], images_u8: torch.Tensor):
        """``fn`` over [0, 1] float chunks of uint8 images, results concatenated on the CPU."""
        chunks = images_u8.split(CHUNK)
        return torch.cat(
            [fn(normalize(chunk.to(self.device), "unit")).float().cpu() for chunk in chunks]
        )

    @cached_property
    def reconstructions(self) -> torch.Tensor:
        return self._map(self.task.reconstruct, self.data.test_images)  # (N, C, H, W) in [0, 1]

    @cached_property
    def test_mse(self) -> float:
        test = normalize(self.data.test_images.cpu(), "unit").double()
        return (self.reconstructions.double() - test).square().mean().item()

    @cached_property
    def pca(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, components) of the training images at the task's code size."""
        return fit_pca(self.data.train_images, dim=int(self.task.latent_dim))

    def probe(self, encode: Callable[[torch.Tensor], torch.Tensor]) -> float:
        """Linear probe accuracy of codes from ``encode`` ([0, 1] images -> codes)."""
        count = self.settings.probe_train
        train_codes = self._map(encode, self.data.train_images[:count])
        test_codes = self._map(encode, self.data.test_images)
        return linear_probe_accuracy(
            train_codes, self.data.train_labels[:count], test_codes, self.data.test_labels
        )

    # ---- generative: features of real, generated and held-out images -----------------

    @cached_property
    def count(self) -> int:
        """Images per set: generated, real test, held-out floor."""
        data = self.data
        return min(self.settings.samples, len(data.test_images), len(data.train_images) // 5)

    @cached_property
    def classifier(self) -> torch.nn.Module:
        data = self.data
        return load_or_train_classifier(
            data.name, data.train_images[self.count :].cpu(), data.train_labels[self.count :].cpu(),
            num_classes=len(data.classes), cache_dir=Path(self.settings.cache_dir).expanduser(),
            device=self.device, progress=self.settings.progress,
        )  # fmt: skip

    @cached_property
    def samples(self) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.settings.seed)
        return self.task.sample(self.count, generator).float().cpu()  # (n, C, H, W) in [0, 1]

    @cached_property
    def real(self) -> torch.Tensor:
        return self.data.test_images[: self.count].cpu()

    @cached_property
    def floor(self) -> torch.Tensor:
        return self.data.train_images[: self.count].cpu()  # held out of the classifier's training

    def features(self, which: str) -> torch.Tensor:
        return self._cached(
            f"features/{which}", lambda: extract_features(self.classifier, getattr(self, which))
        )

    def class_histogram(self, which: str) -> torch.Tensor:
        """How many of the ``which`` images ("samples", "floor", "real") the domain classifier
        puts in each class: (num_classes,) counts."""
        return torch.bincount(self.classes(which), minlength=len(self.data.classes))

    def classes(self, which: str) -> torch.Tensor:
        return self._cached(
            f"classes/{which}", lambda: predict_classes(self.classifier, getattr(self, which))
        )

    def _cached(self, key: str, make: Callable[[], torch.Tensor]) -> torch.Tensor:
        if key not in self._computed:
            self._computed[key] = make()
        return self._computed[key]

    def generative(self, fn: Callable[[torch.Tensor, torch.Tensor], dict[str, float]]):
        """``fn(real features, other features)`` for the samples (``gen/``) and the floor."""
        real = self.features("real")
        out = {}
        for prefix, which in (("gen", "samples"), ("floor", "floor")):
            out.update({f"{prefix}/{k}": v for k, v in fn(real, self.features(which)).items()})
        return out


@metric("reconstruction", needs=("reconstruct",))
def _reconstruction(ev: Evaluation) -> dict[str, float]:
    test = normalize(ev.data.test_images.cpu(), "unit")
    recon = ev.reconstructions
    return {"test/mse": ev.test_mse, "test/bce": bce(recon, test), "test/psnr": psnr(recon, test),
            "test/ssim": ssim(recon, test)}  # fmt: skip


@metric("probe", needs=("encode",))
def _probe(ev: Evaluation) -> dict[str, float]:
    return {"probe/accuracy": ev.probe(ev.task.encode)}


@metric("pca", needs=("encode",))
def _pca(ev: Evaluation) -> dict[str, float]:
    """PCA at the code size: its test MSE (and ours over it) and the probe on its codes."""
    mean, components = ev.pca  # (D,), (D, dim)
    to_codes = lambda x: (x.flatten(1).double().cpu() - mean) @ components  # noqa: E731
    test = normalize(ev.data.test_images.cpu(), "unit").flatten(1).double()
    pca_mse = ((to_codes(test) @ components.T + mean) - test).square().mean().item()
    out = {"pca/mse": pca_mse, "pca/probe_accuracy": ev.probe(to_codes)}
    if can(ev.task, "reconstruct"):
        out["test/mse_over_pca"] = ev.test_mse / pca_mse
    return out


@metric("classifier")
def _classifier(ev: Evaluation) -> dict[str, float]:
    """The domain classifier's accuracy on the test split (what its features are worth)."""
    data = ev.data
    return {
        "classifier/test_accuracy": classifier_accuracy(
            ev.classifier, data.test_images.cpu(), data.test_labels.cpu()
        )
    }


@metric("fd", needs=("sample",))
def _fd(ev: Evaluation) -> dict[str, float]:
    return {
        **ev.generative(lambda a, b: {"fd": frechet_distance(a, b)}),
        "gen/samples": float(ev.count),
    }


@metric("kid", needs=("sample",))
def _kid(ev: Evaluation) -> dict[str, float]:
    return ev.generative(
        lambda a, b: dict(zip(("kid", "kid_std"), kernel_inception_distance(a, b), strict=True))
    )


@metric("prdc", needs=("sample",))
def _prdc(ev: Evaluation) -> dict[str, float]:
    return ev.generative(lambda a, b: prdc(a, b, k=3))


@metric("classes", needs=("sample",))
def _classes(ev: Evaluation) -> dict[str, float]:
    """Entropy, classes covered and KL to the real class distribution of the predictions."""
    out = {}
    labels, num_classes = ev.data.test_labels[: ev.count].cpu(), len(ev.data.classes)
    for prefix, which in (("gen", "samples"), ("floor", "floor")):
        stats = class_histogram_stats(ev.classes(which), labels, num_classes)
        out[f"{prefix}/class_entropy"] = stats["entropy"]
        out[f"{prefix}/classes_covered"] = float(stats["classes_covered"])
        out[f"{prefix}/class_kl"] = stats["kl_to_real"]
    return out


@metric("inception", needs=("sample",))
def _inception(ev: Evaluation) -> dict[str, float]:
    return inception_metrics(ev.real, ev.samples, ev.settings.inception_weights)


# ---- likelihood-based (VAEs) --------------------------------------------------------


@metric("elbo", needs=("elbo_terms",))
def _elbo(ev: Evaluation) -> dict[str, float]:
    """-ELBO on the test split in nats per image (one z per image), and its two terms."""
    generator_state = torch.get_rng_state()
    torch.manual_seed(ev.settings.seed)
    recon, kl = [], []
    for chunk in ev.data.test_images.split(CHUNK):
        nll, divergence = ev.task.elbo_terms(normalize(chunk.to(ev.device), "unit"))
        recon.append(nll.double().cpu())
        kl.append(divergence.double().cpu())
    torch.set_rng_state(generator_state)
    recon_nll, kl_mean = torch.cat(recon).mean().item(), torch.cat(kl).mean().item()
    return {"test/neg_elbo": recon_nll + kl_mean, "test/recon_nll": recon_nll, "test/kl": kl_mean}


@metric("iwae", needs=("log_importance_weights",))
def _iwae(ev: Evaluation) -> dict[str, float]:
    """-log p(x) bounded by k importance samples (Burda et al. 2016), nats per image, on
    ``iwae_images`` test images (all by default): logsumexp in float64, k in chunks."""
    k, images = ev.settings.iwae_samples, ev.data.test_images[: ev.settings.iwae_images]
    per_chunk = max(1, IWAE_BATCH // k)  # images per forward: about IWAE_BATCH decodes
    generator_state = torch.get_rng_state()
    torch.manual_seed(ev.settings.seed)
    bounds = []
    for chunk in images.split(per_chunk):
        x = normalize(chunk.to(ev.device), "unit")
        log_w = ev.task.log_importance_weights(x, k).cpu()  # (b, k) float64
        bounds.append(torch.logsumexp(log_w, dim=1) - math.log(k))
    torch.set_rng_state(generator_state)
    return {"test/iwae_nll": -torch.cat(bounds).mean().item(), "test/iwae_k": float(k),
            "test/iwae_images": float(len(images))}  # fmt: skip


@metric("active_units", needs=("encode",))
def _active_units(ev: Evaluation) -> dict[str, float]:
    """Latent dimensions whose posterior mean varies over the test set: Cov_x(E_q[z_d]) > 0.01
    (Burda et al. 2016)."""
    means = ev._map(ev.task.encode, ev.data.test_images).double()  # (N, D)
    return {"codes/active_units": float((means.var(dim=0) > 0.01).sum().item())}
