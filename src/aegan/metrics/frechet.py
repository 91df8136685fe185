"""Frechet distance (FID, Heusel et al. 2017) and kernel distance (KID, Binkowski et al. 2018)
between two sets of precomputed features, e.g. from ``DomainClassifier.features``.

Hand-written in torch rather than torchmetrics' FID/KID modules: those run their own feature
extractor on images, whereas here features are computed once per image set and reused for
FID, KID and PRDC, and the real-set statistics can be cached. Both are a few lines, in float64.
"""

from __future__ import annotations

import torch

from aegan.metrics.arguments import feature_pair, features, integer, tensor

FEATURE_SETS = ("feats_a", "feats_b")  # the two sets of features, as the arguments name them


def feature_statistics(feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """feats: (N, D), N >= 2 -> mean (D,) and unbiased covariance (D, D), both float64."""
    feats = features("feats", feats, "feature_statistics", least=2)
    return feats.mean(dim=0), torch.cov(feats.T)


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix via eigh (eigenvalues >= 0)."""
    eigenvalues, eigenvectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T


def frechet_distance_from_stats(
    mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor
) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), computed in float64.

    tr sqrt(S1 S2) equals tr sqrt(S1^1/2 S2 S1^1/2); the latter matrix is symmetric PSD, so
    both square roots come from ``eigh`` and no complex parts or scipy ``sqrtm`` are needed.
    """
    mu1, sigma1 = _statistics("mu1", mu1, "sigma1", sigma1)
    mu2, sigma2 = _statistics("mu2", mu2, "sigma2", sigma2, width=len(mu1))
    mu2, sigma2 = mu2.to(mu1.device), sigma2.to(mu1.device)
    sqrt_sigma1 = _sqrt_psd(sigma1)
    middle = sqrt_sigma1 @ sigma2 @ sqrt_sigma1  # (D, D), symmetric PSD
    eigenvalues = torch.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = eigenvalues.clamp(min=0).sqrt().sum()
    distance = (mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt
    return max(distance.item(), 0.0)


def _statistics(mean_name: str, mean, covariance_name: str, covariance, *, width=None):
    """A mean (D,) and a covariance (D, D) of one width (``width`` where given), finite, as
    float64; else one line naming the argument."""
    taker = "frechet_distance_from_stats"
    mean = features(mean_name, tensor(mean_name, mean, taker, "a mean (D,)")[None], taker,
                    width=width)[0]  # fmt: skip
    covariance = features(covariance_name, covariance, taker, width=len(mean))
    if len(covariance) != len(mean):
        raise ValueError(
            f"{covariance_name} of shape {tuple(covariance.shape)}: {taker} takes a covariance "
            f"({len(mean)}, {len(mean)}), as wide as {mean_name}"
        )
    return mean, covariance


def frechet_distance(feats_a: torch.Tensor, feats_b: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to feats_a (N, D) and feats_b (M, D), N and
    M >= 2."""
    feats_a, feats_b = feature_pair(feats_a, feats_b, FEATURE_SETS, "frechet_distance", least=2)
    return frechet_distance_from_stats(*feature_statistics(feats_a), *feature_statistics(feats_b))


def _polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cubic polynomial kernel k(x, y) = (x.y / D + 1)^3; (m, D), (n, D) -> (m, n)."""
    return (x @ y.T / x.shape[1] + 1) ** 3


def kernel_inception_distance(
    feats_a: torch.Tensor,
    feats_b: torch.Tensor,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Unbiased MMD^2 with a cubic polynomial kernel, averaged over random subsets.

    Each of ``subsets`` rounds draws ``subset_size`` rows without replacement from each set,
    at most half the smaller set: rounds of a whole set would all be the same draw, and
    their spread 0 however few the samples (so more than one round needs 4 samples a set).
    Returns (mean, std) over the rounds; the estimate is unbiased, so it can be slightly
    negative for matching distributions.
    """
    taker = "kernel_inception_distance"
    feats_a, feats_b = feature_pair(feats_a, feats_b, FEATURE_SETS, taker, least=2)
    subsets = integer("subsets", subsets, low=1, meaning="the rounds, an integer >= 1")
    subset_size = integer(
        "subset_size", subset_size, low=2, meaning="the samples a round, an integer >= 2"
    )
    seed = integer("seed", seed, low=0, high=2**63 - 1, meaning="an integer from 0 to 2**63 - 1")
    smaller = min(feats_a.shape[0], feats_b.shape[0])
    m = min(subset_size, max(2, smaller // 2), smaller)
    if m < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    if subsets > 1 and 2 * m > smaller:  # every round nearly the same draw: no spread to show
        raise ValueError(
            f"KID's spread over {subsets} rounds needs at least 4 samples in each set (rounds "
            f"of at most half of it), not {smaller}; one round (subsets=1) is its estimate"
        )
    generator = torch.Generator().manual_seed(seed)
    estimates = torch.empty(subsets, dtype=torch.float64)
    for i in range(subsets):
        x = feats_a[torch.randperm(feats_a.shape[0], generator=generator)[:m]]  # (m, D)
        y = feats_b[torch.randperm(feats_b.shape[0], generator=generator)[:m]]  # (m, D)
        k_xx, k_yy = _polynomial_kernel(x, x), _polynomial_kernel(y, y)  # (m, m) each
        # Unbiased MMD^2: within-set means leave out the diagonal k(x_i, x_i).
        within = k_xx.sum() - k_xx.trace() + k_yy.sum() - k_yy.trace()
        estimates[i] = within / (m * (m - 1)) - 2 * _polynomial_kernel(x, y).mean()
    std = estimates.std().item() if subsets > 1 else 0.0
    return estimates.mean().item(), std
