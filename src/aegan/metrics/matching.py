"""Two-sample and matching statistics for codes: the MMD between a code distribution and
its prior (the adversarial autoencoder), and the best one-to-one matching of code values to
classes (InfoGAN's categorical code)."""

from __future__ import annotations

import torch


def mmd_squared(a: torch.Tensor, b: torch.Tensor, bandwidth: float) -> float:
    """Biased (V-statistic) squared maximum mean discrepancy between samples ``a`` (N, D)
    and ``b`` (M, D) under the Gaussian kernel exp(-|x - y|^2 / (2 bandwidth^2)), in float64.
    Biased, so that two draws of one distribution give a small positive floor, O(1/N)."""
    a, b = a.double(), b.double()

    def kernel_mean(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.exp(-torch.cdist(x, y).square() / (2 * bandwidth**2)).mean()

    return (kernel_mean(a, a) + kernel_mean(b, b) - 2 * kernel_mean(a, b)).item()


def median_distance(x: torch.Tensor) -> float:
    """The median pairwise Euclidean distance within ``x`` (N, D): the kernel's bandwidth."""
    distances = torch.cdist(x.double(), x.double())
    return distances[torch.triu_indices(len(x), len(x), offset=1).unbind()].median().item()


def best_matching(counts: torch.Tensor) -> tuple[list[int], int]:
    """The one-to-one assignment of rows to columns of ``counts`` (K, C) with the largest
    total: (column of each row, -1 for a row left over when K > C; that total). Exact, by
    dynamic programming over the sets of columns used, on the matrix padded square with
    zeros (n * 2^n states for n = max(K, C) <= 16; 10 codes and 10 classes: 10k)."""
    if counts.dim() != 2 or not 0 < max(counts.shape) <= 16:
        raise ValueError(
            f"expected a matrix of at most 16 rows and columns, got {tuple(counts.shape)}"
        )
    rows, cols = counts.shape
    size = max(rows, cols)
    values = [[0] * size for _ in range(size)]
    for row, line in enumerate(counts.tolist()):
        values[row][:cols] = line
    best = {0: (0, [])}  # columns used (a bit mask) -> (total, columns of rows 0..r-1)
    for row in range(size):
        following: dict[int, tuple[int, list[int]]] = {}
        for used, (total, columns) in best.items():
            for column in range(size):
                if used >> column & 1:
                    continue
                key, candidate = used | 1 << column, total + values[row][column]
                if key not in following or candidate > following[key][0]:
                    following[key] = (candidate, [*columns, column])
        best = following
    total, columns = best[(1 << size) - 1]
    return [column if column < cols else -1 for column in columns[:rows]], total
