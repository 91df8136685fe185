"""A model of the user's own whose encode gives no codes (B, D): a tuple, a flat vector, a
column per image. One line naming the task, the member and what it must return, the trained
run kept, where the probe, PCA or TensorBoard's projector failed in their own words."""

from __future__ import annotations

import pytest
import torch
from custom_task import LinearAutoencoder, toy_config, write_user_configs

from aegan.errors import ContractError, EvaluationError
from aegan.train import train

HERE = __name__  # the module that holds the tasks the configs name
RULE = "it must return codes (B, D), one row of numbers per image"


@pytest.fixture
def user_configs(tmp_path) -> str:
    return write_user_configs(tmp_path)


class ReconstructsWithoutEncode(LinearAutoencoder):
    """Its validation does not go through encode: only the metrics and the projector do."""

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1, *self.shape).clamp(0, 1)


class EncodesAPair(ReconstructsWithoutEncode):
    def encode(self, x):
        codes = super().encode(x)
        return codes, codes.exp()  # a mean and a variance, as a VAE's encoder gives


class EncodesFlat(ReconstructsWithoutEncode):
    def encode(self, x):
        return super().encode(x).flatten()


class EncodesColumns(ReconstructsWithoutEncode):
    def encode(self, x):
        return super().encode(x)[:, :, None]


@pytest.mark.parametrize(
    ("task", "metric", "problem"),
    [(EncodesAPair, "probe", "a tuple, not a tensor"),
     (EncodesFlat, "probe", "a tensor of shape (4000,), not (1000, D)"),
     (EncodesColumns, "pca", "a tensor of shape (1, 4, 1), not (1, D)")],
)  # fmt: skip
def test_codes_that_are_no_row_per_image_are_refused_naming_the_member(
    user_configs, tmp_path, task, metric, problem
):
    """They failed as 'tuple' object has no attribute 'float', Dimension out of range, and
    a shape torch's linear algebra could not take."""
    run = tmp_path / "run"
    target = f"model._target_={HERE}.{task.__name__}"
    with pytest.raises(EvaluationError) as refused:
        train(toy_config(user_configs, run, target, f"evaluate.metrics=[{metric}]"))
    assert f"(ContractError: {task.__name__}.encode returned {problem}; {RULE})" in str(
        refused.value
    )
    assert (run / "checkpoints" / "last.pt").exists()


def test_the_projectors_codes_are_checked_too(user_configs, tmp_path):
    """TensorBoard's add_embedding asserted 'mat should be 2D' in a traceback."""
    run = tmp_path / "run"
    settings = ("evaluate.at_end=false", "logger.enabled=true", "logger.projector_samples=16")
    target = f"model._target_={HERE}.EncodesColumns"
    with pytest.raises(ContractError) as refused:
        train(toy_config(user_configs, run, target, *settings))
    assert str(refused.value) == (
        f"EncodesColumns.encode returned a tensor of shape (16, 4, 1), not (16, D); {RULE}"
    )
    assert (run / "checkpoints" / "last.pt").exists()
