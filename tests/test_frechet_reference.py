"""Frechet distance and KID against direct numpy formulas written from the papers, on random
data where every term matters: full non-commuting covariances, unequal means, unequal set sizes."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
import torch

from aegan.metrics import (
    feature_statistics,
    frechet_distance,
    frechet_distance_from_stats,
    kernel_inception_distance,
)


def random_covariance(rng: np.random.Generator, dim: int, rank: int | None = None) -> np.ndarray:
    """A full (or rank-deficient) covariance with an uneven spectrum: A A^T / dim."""
    a = rng.normal(size=(dim, rank or dim)) * rng.uniform(0.2, 3.0, size=rank or dim)
    return a @ a.T / dim


def reference_frechet(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + tr S1 + tr S2 - 2 tr (S1 S2)^1/2. The eigenvalues of S1 S2 (not
    symmetric) are those of S1^1/2 S2 S1^1/2, real and >= 0, so the trace of the square root is
    the sum of their square roots: a different route from the implementation's."""
    eigenvalues = np.linalg.eigvals(sigma1 @ sigma2)
    assert np.abs(eigenvalues.imag).max() < 1e-8 * np.abs(eigenvalues).max()
    trace_sqrt = np.sqrt(np.clip(eigenvalues.real, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


def as_t(*arrays: np.ndarray) -> list[torch.Tensor]:
    return [torch.from_numpy(a) for a in arrays]


# --- Frechet distance -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_frechet_distance_from_stats_matches_the_reference(seed):
    rng = np.random.default_rng(seed)
    dim = 6
    mu1, mu2 = 2 * rng.normal(size=dim), rng.normal(size=dim)
    sigma1, sigma2 = random_covariance(rng, dim), random_covariance(rng, dim)
    expected = reference_frechet(mu1, sigma1, mu2, sigma2)
    mean_term = float(np.sum((mu1 - mu2) ** 2))
    assert 0.1 * expected < mean_term < 0.9 * expected  # both terms matter
    assert frechet_distance_from_stats(*as_t(mu1, sigma1, mu2, sigma2)) == pytest.approx(
        expected, rel=1e-10
    )
    # symmetric in its two Gaussians, though the formula is not written symmetrically
    assert frechet_distance_from_stats(*as_t(mu2, sigma2, mu1, sigma1)) == pytest.approx(
        expected, rel=1e-10
    )


def test_frechet_distance_is_computed_in_float64_from_float32_stats():
    rng = np.random.default_rng(7)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    sigma1, sigma2 = random_covariance(rng, 5), random_covariance(rng, 5)
    f32 = [t.float() for t in as_t(mu1, sigma1, mu2, sigma2)]
    expected = reference_frechet(*(t.double().numpy() for t in f32))  # the same rounded inputs
    assert frechet_distance_from_stats(*f32) == pytest.approx(expected, rel=1e-12)


def test_frechet_distance_of_one_singular_gaussian_with_itself_is_zero_not_nan():
    """Fewer samples than dimensions: the covariance is singular and its eigenvalues come out
    slightly negative in floating point; they are clamped, not square-rooted into NaN."""
    rng = np.random.default_rng(3)
    feats = torch.from_numpy(rng.normal(size=(4, 12)))  # rank 3 covariance in 12 dims
    mean, sigma = feats.mean(0), torch.cov(feats.T)
    assert torch.linalg.eigvalsh(sigma).min() < 0  # the case the clamps are there for
    distance = frechet_distance(feats, feats)
    assert 0.0 <= distance < 1e-6 * sigma.trace().item()
    # a singular covariance against a full one matches the reference too
    other_mean, full = rng.normal(size=12), random_covariance(rng, 12)
    expected = reference_frechet(other_mean, full, mean.numpy(), sigma.numpy())
    assert frechet_distance_from_stats(*as_t(other_mean, full), mean, sigma) == pytest.approx(
        expected, rel=1e-8
    )


def test_frechet_distance_from_features_uses_the_unbiased_covariance():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(9, 3)) @ rng.normal(size=(3, 3)) + 1.0  # few samples: N vs N-1 shows
    b = rng.normal(size=(14, 3)) * 2.0
    expected = reference_frechet(a.mean(0), np.cov(a.T, ddof=1), b.mean(0), np.cov(b.T, ddof=1))
    assert frechet_distance(*as_t(a, b)) == pytest.approx(expected, rel=1e-10)
    # float32 features with a large offset: statistics in float32 would lose most digits
    a32 = torch.from_numpy(a + 1e4).float()
    expected = reference_frechet(
        a32.double().numpy().mean(0), np.cov(a32.double().numpy().T), b.mean(0), np.cov(b.T)
    )
    assert frechet_distance(a32, torch.from_numpy(b)) == pytest.approx(expected, rel=1e-9)


def test_feature_statistics_are_float64_mean_and_unbiased_covariance():
    rng = np.random.default_rng(2)
    feats = rng.normal(size=(5, 3)).astype(np.float32)
    mean, cov = feature_statistics(torch.from_numpy(feats))
    assert mean.dtype == cov.dtype == torch.float64
    np.testing.assert_allclose(mean.numpy(), feats.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov.numpy(), np.cov(feats.astype(np.float64).T), rtol=1e-12)
    # two samples are the fewest a covariance needs
    _, cov2 = feature_statistics(torch.from_numpy(feats[:2]))
    np.testing.assert_allclose(cov2.numpy(), np.cov(feats[:2].astype(np.float64).T), rtol=1e-6)


@pytest.mark.parametrize("shape", [(1, 4), (1, 1), (4,), (2, 3, 4)])
def test_feature_statistics_rejects_what_has_no_covariance(shape):
    with pytest.raises(ValueError, match=rf"^feats of shape \({shape[0]},.* \(N >= 2, D\)"):
        feature_statistics(torch.zeros(shape))


# --- KID ------------------------------------------------------------------------------------


def reference_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b / D + 1)^3, as in Binkowski et al. 2018, eq. 4."""
    dim = x.shape[1]

    def kernel(a, b):
        return np.array([[(ai @ bj / dim + 1) ** 3 for bj in b] for ai in a])

    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2 * k_xy.sum() / (m * n))


def test_kid_matches_the_reference_on_the_rounds_it_draws():
    """Each round is the reference's unbiased MMD^2 of the rows it draws: half of each set
    here (rounds of whole sets would all be one draw, with a spread of 0)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3)) + 0.5  # more rows than dims
    y = rng.normal(size=(8, 3)) * 1.5
    generator = torch.Generator().manual_seed(0)  # the function's draws, made again
    rounds = []
    for _ in range(3):
        rows_x, rows_y = (torch.randperm(8, generator=generator)[:4].numpy() for _ in "xy")
        rounds.append(reference_mmd2(x[rows_x], y[rows_y]))
    mean, std = kernel_inception_distance(*as_t(x, y), subsets=3, subset_size=50)
    assert mean == pytest.approx(np.mean(rounds), rel=1e-12)
    assert std == pytest.approx(np.std(rounds, ddof=1), rel=1e-9) and std > 0
    # float32 features give the float64 result of the same rounded numbers
    x32, y32 = (torch.from_numpy(a).float() for a in (x, y))
    mean32, _ = kernel_inception_distance(x32, y32, subsets=3, subset_size=50)
    assert mean32 == pytest.approx(mean, rel=1e-6)


def test_kid_subsets_are_clipped_to_the_smaller_set():
    """Sets of identical rows: any subset of either gives the closed form k(v,v) + k(w,w) -
    2 k(v,w), as long as both subsets have the size the estimate divides by (at most half
    the smaller set's)."""
    v, w = np.array([1.0, -0.5, 2.0]), np.array([0.3, 0.8, -1.2])

    def k(a, b):
        return (a @ b / 3 + 1) ** 3

    expected = k(v, v) + k(w, w) - 2 * k(v, w)
    small, large = np.tile(v, (5, 1)), np.tile(w, (9, 1))
    for a, b in ((small, large), (large, small)):
        mean, std = kernel_inception_distance(*as_t(a, b), subsets=2, subset_size=1000)
        assert mean == pytest.approx(expected, rel=1e-12)
        assert std == pytest.approx(0.0, abs=1e-9)


def test_kid_std_is_the_unbiased_spread_of_the_rounds():
    rng = np.random.default_rng(4)
    a, b = as_t(rng.normal(size=(40, 4)), rng.normal(size=(30, 4)) + 0.3)
    # the first round of a seeded run is the one round of a one-round run with that seed
    first, one_round_std = kernel_inception_distance(a, b, subsets=1, subset_size=10, seed=5)
    assert one_round_std == 0.0  # one round has no spread
    mean, std = kernel_inception_distance(a, b, subsets=2, subset_size=10, seed=5)
    second = 2 * mean - first
    assert abs(first - second) > 1e-3 * abs(mean)  # different subsets, different estimates
    assert std == pytest.approx(abs(first - second) / np.sqrt(2), rel=1e-9)  # ddof = 1


def test_kid_subset_estimates_average_to_the_whole_set_estimate():
    """Each round is an unbiased estimate; many rounds of half-size subsets average to about
    the whole-set estimate (within a few standard errors)."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(24, 3)), rng.normal(size=(24, 3)) + 0.7
    expected = reference_mmd2(x, y)
    mean, std = kernel_inception_distance(*as_t(x, y), subsets=200, subset_size=12, seed=1)
    assert std > 0.05 * expected
    assert mean == pytest.approx(expected, abs=4 * std / np.sqrt(200))


def test_kid_needs_two_samples_per_set():
    two = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    mean, _ = kernel_inception_distance(two, two + 1, subsets=1)
    assert mean == pytest.approx(reference_mmd2(two.double().numpy(), two.double().numpy() + 1))
    for a, b, size, refused in ((two[:1], two, 1000, "feats_a of shape (1, 3)"),
                                (two, two[:1], 1000, "feats_b of shape (1, 3)"),
                                (two, two, 1, "subset_size=1")):  # fmt: skip
        with pytest.raises(ValueError, match=rf"^{re.escape(refused)}: "):
            kernel_inception_distance(a, b, subset_size=size)


def test_kid_defaults_are_the_papers_protocol():
    """100 subsets of 1000 (Binkowski et al. 2018), seed 0: what the logged KIDs were made with.
    Sets of 30 keep it fast; subset_size then only shows in the signature."""
    defaults = {
        name: p.default
        for name, p in inspect.signature(kernel_inception_distance).parameters.items()
    }
    assert (defaults["subsets"], defaults["subset_size"], defaults["seed"]) == (100, 1000, 0)
    rng = np.random.default_rng(6)
    a, b = as_t(rng.normal(size=(30, 2)), rng.normal(size=(30, 2)))
    explicit = kernel_inception_distance(a, b, subsets=100, subset_size=1000, seed=0)
    assert kernel_inception_distance(a, b) == explicit
    # subsets of 20 of the 30, so the rounds differ and the seed and the count show
    default_rounds = kernel_inception_distance(a, b, subset_size=20)
    assert default_rounds == kernel_inception_distance(a, b, subsets=100, subset_size=20, seed=0)
    assert default_rounds != kernel_inception_distance(a, b, subsets=101, subset_size=20)
    assert default_rounds != kernel_inception_distance(a, b, subset_size=20, seed=1)
