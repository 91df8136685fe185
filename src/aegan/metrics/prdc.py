"""Improved precision/recall (Kynkaanniemi et al. 2019) and density/coverage (Naeem et al. 2020)
on feature sets, following the reference ``prdc`` package (strict ``<`` against k-NN radii).

Distances are computed with ``torch.cdist`` in float64, ``chunk_size`` real rows at a time, so
a 10k x 10k comparison needs about chunk_size * 10k * 8 bytes (80 MB at the default) at once.
"""

from __future__ import annotations

import torch

from aegan.metrics.arguments import feature_pair, integer


def _kth_neighbour_radii(feats: torch.Tensor, k: int, chunk_size: int) -> torch.Tensor:
    """(N, D) -> (N,) distance from each point to its k-th nearest other point in the set."""
    radii = []
    for chunk in feats.split(chunk_size):
        distances = torch.cdist(chunk, feats)  # (c, N); column of the point itself is ~0
        radii.append(distances.topk(k + 1, dim=1, largest=False).values[:, k])
    return torch.cat(radii)


def prdc(
    real_feats: torch.Tensor, fake_feats: torch.Tensor, *, k: int = 3, chunk_size: int = 1024
) -> dict[str, float]:
    """real_feats (N, D), fake_feats (M, D) -> {precision, recall, density, coverage}.

    precision: share of fake points inside some real point's k-NN ball.
    recall:    share of real points inside some fake point's k-NN ball.
    density:   mean number of real k-NN balls holding a fake point, divided by k (~1 when the
               distributions match; can exceed 1).
    coverage:  share of real points whose k-NN ball holds at least one fake point.
    """
    k = integer("k", k, low=1, meaning="the neighbours that make a point's ball, an integer >= 1")
    chunk_size = integer("chunk_size", chunk_size, low=1, meaning="an integer >= 1")
    names = ("real_feats", "fake_feats")
    real, fake = feature_pair(real_feats, fake_feats, names, f"prdc with k={k}", least=k + 1)
    real_radii = _kth_neighbour_radii(real, k, chunk_size)  # (N,)
    fake_radii = _kth_neighbour_radii(fake, k, chunk_size)  # (M,)

    balls_holding_fake = torch.zeros(fake.shape[0], dtype=torch.int64)  # (M,)
    recalled, covered = [], []
    for real_chunk, radii_chunk in zip(
        real.split(chunk_size), real_radii.split(chunk_size), strict=True
    ):
        distances = torch.cdist(real_chunk, fake)  # (c, M)
        balls_holding_fake += (distances < radii_chunk[:, None]).sum(dim=0)
        recalled.append((distances < fake_radii[None, :]).any(dim=1))
        covered.append(distances.min(dim=1).values < radii_chunk)

    return {
        "precision": (balls_holding_fake > 0).double().mean().item(),
        "recall": torch.cat(recalled).double().mean().item(),
        "density": (balls_holding_fake.double().sum() / (k * fake.shape[0])).item(),
        "coverage": torch.cat(covered).double().mean().item(),
    }
