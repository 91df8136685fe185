"""Class-balance statistics of generated samples, from the domain classifier's predictions:
a mode-collapse check that needs no features."""

from __future__ import annotations

import math

import torch

from aegan.metrics.arguments import integer, labels, number

MOST_CLASSES = 2**20  # a histogram's bins: num_classes=10**12 asked for 8 TB


def entropy_nats(shares: torch.Tensor) -> torch.Tensor:
    """The entropy in nats of distributions ``shares`` (..., K) along the last dimension, as
    the sum of p log(1/p): never -0.0, which -sum(p log p) gives for one class and which
    metrics.json and the console would show as "-0"."""
    return torch.special.xlogy(shares, shares.reciprocal()).sum(-1)


def class_histogram_stats(
    pred_labels: torch.Tensor,
    real_labels: torch.Tensor,
    num_classes: int,
    *,
    min_share: float = 0.1,
    eps: float = 1e-8,
) -> dict:
    """Histogram of predicted classes of generated samples compared with the real labels.

    pred_labels: (M,) class ids predicted for generated samples; real_labels: (N,) true ids.
    Returns a dict with
      histogram:       list of num_classes counts of the generated samples;
      entropy:         entropy of the generated class distribution in nats (log(num_classes)
                       when uniform, 0 when collapsed to one class);
      classes_covered: classes holding at least ``min_share`` of the uniform share, i.e.
                       count >= min_share * M / num_classes (default: 10% of the fair share);
      kl_to_real:      KL(generated || real) in nats, with ``eps`` added to both distributions.
    """
    taker = "class_histogram_stats"
    num_classes = integer("num_classes", num_classes, low=1, high=MOST_CLASSES,
                        meaning=f"an integer from 1 to {MOST_CLASSES}")  # fmt: skip
    min_share = number("min_share", min_share, low=0, strict=False, meaning="a number >= 0")
    eps = number("eps", eps, low=0, meaning="a number > 0")
    pred_labels = labels("pred_labels", pred_labels, taker, classes=num_classes)
    real_labels = labels("real_labels", real_labels, taker, classes=num_classes)
    for name, ids in (("pred_labels", pred_labels), ("real_labels", real_labels)):
        if not len(ids):  # shares of no labels are 0/0
            raise ValueError(f"{name} of shape (0,): {taker} takes at least one class id")
    counts = torch.bincount(pred_labels, minlength=num_classes)
    real_counts = torch.bincount(real_labels, minlength=num_classes)
    total = counts.sum().item()
    p = counts.double() / total
    q = real_counts.double() / real_counts.sum()
    entropy = entropy_nats(p).item()
    covered = int((counts >= min_share * total / num_classes).sum().item())
    kl = (p * ((p + eps) / (q + eps)).log()).sum().item()
    return {
        "histogram": counts.tolist(),
        "entropy": entropy,
        "max_entropy": math.log(num_classes),
        "classes_covered": covered,
        "kl_to_real": kl,
    }
