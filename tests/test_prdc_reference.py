"""Precision, recall, density and coverage against a brute-force numpy version of the
definitions (Kynkaanniemi et al. 2019; Naeem et al. 2020; strict < as the reference prdc
package), on overlapping clouds where none of the four is 0 or 1."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aegan.metrics import prdc


def reference_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """Every distance, every ball, no chunks, no topk."""

    def distances(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    real_real, fake_fake, real_fake = (
        distances(real, real),
        distances(fake, fake),
        distances(real, fake),
    )
    # k-th nearest other point: sorted row, index 0 is the point itself (distance 0)
    real_radius = np.sort(real_real, axis=1)[:, k]
    fake_radius = np.sort(fake_fake, axis=1)[:, k]
    inside_real_ball = real_fake < real_radius[:, None]  # (N, M): fake j in real i's ball
    inside_fake_ball = real_fake < fake_radius[None, :]  # (N, M): real i in fake j's ball
    return {
        "precision": float(inside_real_ball.any(axis=0).mean()),
        "recall": float(inside_fake_ball.any(axis=1).mean()),
        "density": float(inside_real_ball.sum() / (k * len(fake))),
        "coverage": float((real_fake.min(axis=1) < real_radius).mean()),
    }


@pytest.mark.parametrize(("k", "chunk_size"), [(3, 7), (5, 1024), (1, 16)])
def test_prdc_matches_the_brute_force_definitions(k, chunk_size):
    rng = np.random.default_rng(k)
    real = rng.normal(size=(60, 4))
    fake = rng.normal(size=(45, 4)) * 1.3 + 0.8  # overlapping, wider and shifted
    expected = reference_prdc(real, fake, k)
    assert all(0 < value < 1 for name, value in expected.items() if name != "density")
    assert expected["density"] != expected["precision"]
    scores = prdc(torch.from_numpy(real), torch.from_numpy(fake), k=k, chunk_size=chunk_size)
    assert scores == pytest.approx(expected, abs=1e-12)
    # float32 features: the same numbers once rounded, compared in float64
    real32, fake32 = torch.from_numpy(real).float(), torch.from_numpy(fake).float()
    expected32 = reference_prdc(real32.double().numpy(), fake32.double().numpy(), k)
    assert prdc(real32, fake32, k=k, chunk_size=chunk_size) == pytest.approx(expected32, abs=1e-12)


def test_prdc_default_k_is_three():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(50, 3)), rng.normal(size=(40, 3)) + 0.5
    expected = reference_prdc(real, fake, 3)
    assert prdc(torch.from_numpy(real), torch.from_numpy(fake)) == pytest.approx(
        expected, abs=1e-12
    )


def test_a_fake_point_exactly_on_a_real_ball_edge_is_outside():
    """Integer points on a line, so every distance is exact. k = 1: every real point's radius
    is 1, and the fake point -1 is at distance exactly 1 from the real point 0."""
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]], dtype=torch.float64)
    fake = torch.tensor([[-1.0], [5.0], [7.0], [9.0]], dtype=torch.float64)
    # precision, density, coverage: only -1 comes near a real ball, and it is on the edge.
    # recall: the fake -1's radius is 6 (to 5), which holds every real point.
    assert prdc(real, fake, k=1) == {
        "precision": 0.0,
        "recall": 1.0,
        "density": 0.0,
        "coverage": 0.0,
    }
    fake[0, 0] += 1e-9  # a hair inside real 0's ball
    nudged = prdc(real, fake, k=1)
    assert (nudged["precision"], nudged["density"], nudged["coverage"]) == (0.25, 0.25, 0.25)


def test_a_real_point_exactly_on_a_fake_ball_edge_is_not_recalled():
    """k = 1 on a line: the fake radii are 4, 4, 40 and 40. Real 2 is inside fake 0's ball, real
    130 inside fake 140's, real 8 exactly on the edge of fake 4's ball and outside the rest."""
    real = torch.tensor([[2.0], [8.0], [130.0]], dtype=torch.float64)
    fake = torch.tensor([[0.0], [4.0], [100.0], [140.0]], dtype=torch.float64)
    assert prdc(real, fake, k=1)["recall"] == pytest.approx(2 / 3, abs=1e-15)
    fake[1, 0] += 1e-9
    assert prdc(real, fake, k=1)["recall"] == 1.0


@pytest.mark.parametrize("k", [1, 3])
def test_prdc_needs_more_than_k_points_in_each_set_whatever_the_dimension(k):
    rng = torch.Generator().manual_seed(0)
    enough, few = torch.randn(k + 1, 2, generator=rng), torch.randn(k, 2, generator=rng)
    # D = 2 <= k, N = k + 1: fine (the check is on the number of points, not of dimensions)
    assert set(prdc(enough, enough + 0.1, k=k)) == {"precision", "recall", "density", "coverage"}
    wide = torch.randn(k + 1, 40, generator=rng)  # many dimensions, just enough points
    assert prdc(wide, wide, k=k)["precision"] == 1.0
    for real, fake in ((few, enough), (enough, few)):
        with pytest.raises(
            ValueError, match=rf"_feats of shape \({k}, 2\): .*\(N >= {k + 1}, [D2]\)"
        ):
            prdc(real, fake, k=k)
