"""Images laid out in a grid: TensorBoard's image grids and the notebooks' pictures."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def tile_images(
    images: torch.Tensor, nrow: int, padding: int = 2, pad_value: float = 1.0
) -> torch.Tensor:
    """(N, C, H, W) -> (C, H', W'): ``nrow`` images a row (fewer where N is smaller), each
    with ``padding`` pixels of ``pad_value`` above and left of it and one more border below
    and right, as torchvision's ``make_grid`` lays them out (a single image alone, without
    a border); the channels stay C, where ``make_grid`` repeats one channel three times.
    Written here: importing torchvision imports Dynamo, seconds of each command's start even
    where a mistake is refused before any model is built."""
    n, channels, height, width = images.shape
    if n == 1:
        return images[0]
    columns = min(nrow, n)
    rows = -(-n // columns)
    cells = images.new_full(
        (rows * columns, channels, height + padding, width + padding), pad_value
    )
    cells[:n, :, padding:, padding:] = images
    grid = cells.view(rows, columns, channels, height + padding, width + padding)
    grid = grid.permute(2, 0, 3, 1, 4).reshape(channels, rows * (height + padding), -1)
    return F.pad(grid, (0, padding, 0, padding), value=pad_value)
