"""Codes of 1 or 2 numbers reach the projector with zero columns to 3: its PCA takes the
components of a D x D decomposition, and those past D (the third of its default 3-D view)
came out NaN, so that no point was drawn. Wider codes go as they are."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aegan.logger import TensorBoardLogger


def written_codes(tmp_path, codes: torch.Tensor) -> np.ndarray:
    logger = TensorBoardLogger(tmp_path)
    logger.embedding(codes, labels=[str(i) for i in range(len(codes))], images=None, step=1,
                     tag="test_codes")  # fmt: skip
    logger.close()
    return np.loadtxt(tmp_path / "00001" / "test_codes" / "tensors.tsv", ndmin=2)


@pytest.mark.parametrize("width", [1, 2])
def test_narrow_codes_get_zero_columns_to_three(tmp_path, width):
    codes = torch.randn(20, width, generator=torch.Generator().manual_seed(width))
    written = written_codes(tmp_path, codes)
    assert written.shape == (20, 3)
    assert np.allclose(written[:, :width], codes.numpy(), atol=1e-6)
    assert (written[:, width:] == 0).all()


@pytest.mark.parametrize("width", [3, 32])
def test_codes_of_three_or_more_numbers_are_written_as_they_are(tmp_path, width):
    codes = torch.randn(20, width, generator=torch.Generator().manual_seed(width))
    assert np.allclose(written_codes(tmp_path, codes), codes.numpy(), atol=1e-6)
