"""Two-sample and matching statistics for codes: the MMD between a code distribution and
its prior (the adversarial autoencoder), and the best one-to-one matching of code values to
classes (InfoGAN's categorical code)."""

from __future__ import annotations

import math

import torch

from aegan.metrics.arguments import feature_pair, features, number


def mmd_squared(a: torch.Tensor, b: torch.Tensor, bandwidth: float) -> float:
    """Biased (V-statistic) squared maximum mean discrepancy between samples ``a`` (N, D)
    and ``b`` (M, D) under the Gaussian kernel exp(-|x - y|^2 / (2 bandwidth^2)), in float64.
    Biased, so that two draws of one distribution give a small positive floor, O(1/N)."""
    a, b = feature_pair(a, b, ("a", "b"), "mmd_squared")
    bandwidth = number("bandwidth", bandwidth, low=0, meaning="the kernel's width, a number > 0")

    def kernel_mean(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.exp(-torch.cdist(x, y).square() / (2 * bandwidth**2)).mean()

    return (kernel_mean(a, a) + kernel_mean(b, b) - 2 * kernel_mean(a, b)).item()


def median_distance(x: torch.Tensor) -> float:
    """The median pairwise Euclidean distance within ``x`` (N, D), N >= 2: the kernel's
    bandwidth."""
    x = features("x", x, "median_distance", least=2)
    distances = torch.cdist(x, x)
    return distances[torch.triu_indices(len(x), len(x), offset=1).unbind()].median().item()


def best_matching(counts: torch.Tensor) -> tuple[list[int], int]:
    """The one-to-one assignment of rows to columns of ``counts`` (K, C) with the largest
    total: (column of each row, -1 for a row left over when K > C; that total). Exact, by
    the Hungarian algorithm (Kuhn 1955, in its O(n^2 m) form) on the shorter side's n items
    against the longer side's m: any number of classes, where a search over sets of them
    stopped at 16 (an image folder of 17 classes ended InfoGAN's evaluation)."""
    if counts.dim() != 2 or not min(counts.shape) > 0:
        raise ValueError(
            f"expected a matrix of at least one row and column, got {tuple(counts.shape)}"
        )
    values = counts.tolist()
    transposed = len(values) > len(values[0])  # the shorter side is matched in full
    if transposed:
        values = [list(column) for column in zip(*values, strict=True)]
    partner = _hungarian([[-value for value in row] for row in values])  # the least cost
    total = sum(values[row][column] for row, column in enumerate(partner))
    if not transposed:
        return partner, total
    columns = [-1] * len(counts)
    for column, row in enumerate(partner):
        columns[row] = column
    return columns, total


def _hungarian(cost: list[list[float]]) -> list[int]:
    """The column of each row of ``cost`` (n rows <= m columns) in the assignment of least
    total cost: potentials ``u``, ``v`` on rows and columns, each row added along a
    shortest augmenting path (1-based, column 0 the free row's slot)."""
    n, m = len(cost), len(cost[0])
    u, v, row_of, way = [0.0] * (n + 1), [0.0] * (m + 1), [0] * (m + 1), [0] * (m + 1)
    for row in range(1, n + 1):
        row_of[0], free = row, 0
        least, used = [math.inf] * (m + 1), [False] * (m + 1)
        while row_of[free]:
            used[free], current, delta, nearest = True, row_of[free], math.inf, 0
            for column in range(1, m + 1):
                if not used[column]:
                    reduced = cost[current - 1][column - 1] - u[current] - v[column]
                    if reduced < least[column]:
                        least[column], way[column] = reduced, free
                    if least[column] < delta:
                        delta, nearest = least[column], column
            for column in range(m + 1):
                if used[column]:
                    u[row_of[column]] += delta
                    v[column] -= delta
                else:
                    least[column] -= delta
            free = nearest
        while free:  # flip the path's matches back to the row added
            previous = way[free]
            row_of[free], free = row_of[previous], previous
    partner = [0] * n
    for column in range(1, m + 1):
        if row_of[column]:
            partner[row_of[column] - 1] = column - 1
    return partner
