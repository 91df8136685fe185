"""The final metrics, each registered by name in ``aegan.metrics.registry`` (whose docstring
is the protocol): what it needs of the task, and how it computes its figures from an
``Evaluation``."""

from __future__ import annotations

import logging
import math

import torch

from aegan.contract import can
from aegan.data import normalize
from aegan.engine.rng_state import seeded
from aegan.errors import ConfigError
from aegan.metrics.classes import class_histogram_stats, entropy_nats
from aegan.metrics.classifier import classifier_accuracy
from aegan.metrics.evaluation import Evaluation
from aegan.metrics.frechet import frechet_distance, kernel_inception_distance
from aegan.metrics.inception import check_inception, inception_metrics
from aegan.metrics.limits import Needs
from aegan.metrics.matching import best_matching, median_distance, mmd_squared
from aegan.metrics.prdc import prdc
from aegan.metrics.progress import Progress
from aegan.metrics.reconstruction import bce, psnr, ssim
from aegan.metrics.registry import CHUNK, metric
from aegan.metrics.scope import Scope

log = logging.getLogger(__name__)
IWAE_BATCH = 20000  # decodes per forward pass of the IWAE bound
# decoder passes of the IWAE bound: ten times the default's (k=1000 on 10,000 test images)
IWAE_PASSES = 10**8
SSIM_WINDOW = 11  # ssim's Gaussian window: an image side smaller has no valid region
PRIOR_SAMPLES = 2000  # codes and prior draws in the MMD
CODE_SAMPLES = 1000  # generated images per categorical code value
COVARIANCE = "a covariance of image features"
KID_ROUNDS = "rounds of at most half the images, whose spread is kid_std"
LABELS = Needs(labels=True)  # two or more classes: a probe
CLASSIFIED = Needs(labels=True, classified=True)  # and images the domain classifier takes
NEIGHBOURS = "each image's 3 nearest neighbours"


def _check_ssim_window(scope: Scope) -> None:
    side = min(int(s) for s in scope.image_shape[-2:])
    if side < SSIM_WINDOW:
        raise ConfigError(
            f"data.image_size={side} is too small for the reconstruction metric (SSIM's "
            f"{SSIM_WINDOW}x{SSIM_WINDOW} window): use data.image_size >= {SSIM_WINDOW}, or "
            f"{scope.key} without reconstruction"
        )


@metric("reconstruction", needs=("reconstruct",), check=_check_ssim_window)
def _reconstruction(ev: Evaluation) -> dict[str, float]:
    test = normalize(ev.data.test_images.cpu(), "unit")
    recon = ev.reconstructions
    return {"test/mse": ev.test_mse, "test/bce": bce(recon, test), "test/psnr": psnr(recon, test),
            "test/ssim": ssim(recon, test)}  # fmt: skip


@metric("probe", needs=("encode",), data=LABELS)
def _probe(ev: Evaluation) -> dict[str, float]:
    return ev.probe("probe/accuracy", ev.task.encode)


@metric("pca", needs=("encode",), data=Needs(labelled_part="pca/probe_accuracy"))
def _pca(ev: Evaluation) -> dict[str, float]:
    """PCA at the code size: its test MSE (and ours over it) and the probe on its codes. A
    code as wide as an image keeps every pixel: no MSE (rounding error) and no ratio; one as
    wide as the training images' span has no PCA of its size: no MSE and no ratio either."""
    mean, components = ev.pca  # (D,), (D, dim)
    to_codes = lambda x: (x.flatten(1).double().cpu() - mean) @ components  # noqa: E731
    out, images = {}, len(ev.data.train_images)
    if ev.code_width >= len(mean):  # a sweep over latent_dim goes on: the other figures stand
        log.warning(
            "pca: a code of %d numbers holds all %d pixel values of an image, so PCA at that "
            "size reconstructs every image exactly; pca/mse and test/mse_over_pca are left out",
            getattr(ev.task, "latent_dim", ev.code_width), len(mean),
        )  # fmt: skip
    elif images <= ev.code_width:  # centred, N images span at most N - 1 directions
        log.warning(
            "pca: the %d training images span at most %d directions, fewer than the %d numbers "
            "of a code, so they define no PCA of that size; pca/mse and test/mse_over_pca are "
            "left out", images, images - 1, ev.code_width,
        )  # fmt: skip
    else:
        test = normalize(ev.data.test_images.cpu(), "unit").flatten(1).double()
        out["pca/mse"] = ((to_codes(test) @ components.T + mean) - test).square().mean().item()
        if can(ev.task, "reconstruct"):
            out["test/mse_over_pca"] = ev.test_mse / out["pca/mse"]
    if ev.labelled:  # one class: any probe scores 1.0
        out.update(ev.probe("pca/probe_accuracy", to_codes, member=None))
    return out


@metric("classifier", data=CLASSIFIED)
def _classifier(ev: Evaluation) -> dict[str, float]:
    """The domain classifier's accuracy on the test split (what its features are worth)."""
    data = ev.data
    return {
        "classifier/test_accuracy": classifier_accuracy(
            ev.classifier, data.test_images.cpu(), data.test_labels.cpu()
        )
    }


@metric("fd", needs=("sample",), data=Needs(2, COVARIANCE, True, True, classified=True))
def _fd(ev: Evaluation) -> dict[str, float]:
    return {
        **ev.generative(lambda a, b: {"fd": frechet_distance(a, b)}),
        "gen/samples": float(ev.count),
    }


@metric("kid", needs=("sample",), data=Needs(4, KID_ROUNDS, True, True, classified=True))
def _kid(ev: Evaluation) -> dict[str, float]:
    return ev.generative(
        lambda a, b: dict(zip(("kid", "kid_std"), kernel_inception_distance(a, b), strict=True))
    )


@metric("prdc", needs=("sample",), data=Needs(4, NEIGHBOURS, True, True, classified=True))
def _prdc(ev: Evaluation) -> dict[str, float]:
    return ev.generative(lambda a, b: prdc(a, b, k=3))


@metric("classes", needs=("sample",), data=Needs(paired=True, labels=True, classified=True))
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


def _check_inception(scope: Scope) -> None:
    key = scope.setting("inception_weights")
    check_inception(key, scope.settings.inception_weights)


@metric(
    "inception", needs=("sample",), check=_check_inception, data=Needs(2, COVARIANCE, paired=True)
)
def _inception(ev: Evaluation) -> dict[str, float]:
    return inception_metrics(ev.real, ev.samples, ev.settings.inception_weights)


# ---- likelihood-based (VAEs) --------------------------------------------------------


@metric("elbo", needs=("elbo_terms",))
def _elbo(ev: Evaluation) -> dict[str, float]:
    """-ELBO on the test split in nats per image (one z per image), and its two terms."""
    recon, kl = [], []
    with seeded(ev.settings.seed, ev.device):
        for chunk in ev.data.test_images.split(CHUNK):
            nll, divergence = ev.task.elbo_terms(normalize(chunk.to(ev.device), "unit"))
            recon.append(ev.finite(nll.double().cpu(), "reconstruction terms"))
            kl.append(ev.finite(divergence.double().cpu(), "KL terms"))
    recon_nll, kl_mean = torch.cat(recon).mean().item(), torch.cat(kl).mean().item()
    return {"test/neg_elbo": recon_nll + kl_mean, "test/recon_nll": recon_nll, "test/kl": kl_mean}


def _check_iwae(scope: Scope) -> None:
    """Refuse a bound of more than ``IWAE_PASSES`` decoder passes (k times the images), and
    more images than the test split has (it would be computed on fewer than asked)."""
    k, asked = scope.settings.iwae_samples, scope.settings.iwae_images
    known = [n for n in (asked, scope.test_images) if n is not None]
    images = min(known) if known else 0  # neither known: nothing to bound
    if k * images > IWAE_PASSES:
        samples, count = scope.setting("iwae_samples"), scope.setting("iwae_images")
        raise ConfigError(
            f"{samples}={k} x {count}={'null' if asked is None else asked} ({images} test images) is {k * images:.2g} "
            f"decoder passes, more than the {IWAE_PASSES:.0e} allowed (ten times the default "
            f"1000 x 10000): lower {samples} or {count}"
        )
    if asked is not None and scope.test_images is not None and asked > scope.test_images:
        raise ConfigError(
            f"{scope.setting('iwae_images')}={asked} is more than the {scope.test_images} test "
            f"images: use at most {scope.test_images}"
            + (", or null for all of them" if scope.key.startswith("evaluate.") else "")
        )


@metric("iwae", needs=("log_importance_weights",), check=_check_iwae)
def _iwae(ev: Evaluation) -> dict[str, float]:
    """-log p(x) bounded by k importance samples (Burda et al. 2016), nats per image, on
    ``iwae_images`` test images (all by default): logsumexp in float64, at most
    ``IWAE_BATCH`` decodes per forward (k above it in several draws per image). Beside it
    the -ELBO of the same images (the mean of their log weights): ``test/neg_elbo`` is of
    every test image, and the gap between the bounds is of one set of images."""
    k, images = ev.settings.iwae_samples, ev.data.test_images[: ev.settings.iwae_images]
    per_chunk = max(1, IWAE_BATCH // k)  # images per forward: about IWAE_BATCH decodes
    draws = [IWAE_BATCH] * (k // IWAE_BATCH) + ([k % IWAE_BATCH] if k % IWAE_BATCH else [])
    bounds, elbos = [], []
    progress = Progress(f"iwae (k={k})", len(images), "test images",
                        "k (iwae_samples) times the images (iwae_images) sets its time")  # fmt: skip
    with seeded(ev.settings.seed, ev.device):  # given back also when stopped
        for chunk in images.split(per_chunk):
            x = normalize(chunk.to(ev.device), "unit")
            log_w = []
            for n in draws:  # independent draws of q(z|x): together one sample of k
                log_w.append(ev.task.log_importance_weights(x, n).cpu())  # (b, n) float64
                ev.finite(log_w[-1], "importance weights")
            log_w = torch.cat(log_w, dim=1)  # (b, k)
            bounds.append(torch.logsumexp(log_w, dim=1) - math.log(k))
            elbos.append(log_w.mean(dim=1))
            progress.done(len(chunk))
    return {"test/iwae_nll": -torch.cat(bounds).mean().item(),
            "test/iwae_neg_elbo": -torch.cat(elbos).mean().item(), "test/iwae_k": float(k),
            "test/iwae_images": float(len(images))}  # fmt: skip


@metric("active_units", needs=("encode",), data=Needs(2, "a variance over the test codes"))
def _active_units(ev: Evaluation) -> dict[str, float]:
    """Latent dimensions whose posterior mean varies over the test set: Cov_x(E_q[z_d]) > 0.01
    (Burda et al. 2016)."""
    means = ev._map(ev.task.encode, ev.data.test_images, "codes", "encode").double()  # (N, D)
    return {"codes/active_units": float((means.var(dim=0) > 0.01).sum().item())}


# ---- codes: the prior they should match, the classes a code should pick ----------------


@metric(
    "prior_match",
    needs=("posterior_codes", "sample_prior"),
    data=Needs(2, "a median distance between codes"),
)
def _prior_match(ev: Evaluation) -> dict[str, float]:
    """MMD^2 between the codes of 2,000 test images (draws of q(z|x) where the encoder is
    stochastic: the aggregated posterior) and 2,000 prior draws, and its floor: two prior
    draws (Gaussian kernel, bandwidth the prior draws' median distance)."""
    count = min(PRIOR_SAMPLES, len(ev.data.test_images))
    generator = torch.Generator().manual_seed(ev.settings.seed)
    images = ev.data.test_images[:count]
    codes = ev._map(
        lambda x: ev.task.posterior_codes(x, generator), images, "codes", "posterior_codes"
    )
    first, second = (ev.task.sample_prior(count, generator).float().cpu() for _ in range(2))
    bandwidth = median_distance(first)
    return {"codes/mmd": mmd_squared(codes, first, bandwidth),
            "codes/mmd_floor": mmd_squared(second, first, bandwidth)}  # fmt: skip


@metric("code_control", needs=("generate_with_code",), data=Needs(0, labels=True, classified=True))
def _code_control(ev: Evaluation) -> dict[str, float]:
    """How well a categorical code picks the class: 1,000 samples per code value, classified
    by the domain classifier; the accuracy after the best one-to-one matching of code values
    to classes, the mean entropy of each value's class histogram (nats), and per value its
    matched class and that class's share of its samples (the histogram's
    ``Evaluation.code_class_counts``, which a notebook can show whole)."""
    counts = ev.code_class_counts(CODE_SAMPLES)  # (categories, classes)
    columns, matched = best_matching(counts)  # a class per value; -1: more values than classes
    shares = counts.double() / counts.sum(1, keepdim=True)
    entropy = entropy_nats(shares).mean().item()
    out = {
        "info/matched_accuracy": matched / counts.sum().item(),
        "info/code_class_entropy": entropy,
    }
    out.update({f"info/code{v}_share": shares[v, c].item() if c >= 0 else 0.0
                for v, c in enumerate(columns)})  # fmt: skip
    out.update({f"info/code{v}_class": float(c) for v, c in enumerate(columns)})
    return out
