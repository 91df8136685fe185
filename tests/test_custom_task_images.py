"""A model of the user's own whose images are not images of the data (a scale, a dtype, a
count or a layout of its own): one line naming the task, the member and what it must
return, the trained run kept, in place of figures of them or torch's words."""

from __future__ import annotations

import pytest
import torch
from custom_task import LinearAutoencoder, toy_config, write_user_configs

from aegan.errors import EvaluationError
from aegan.train import train

HERE = __name__  # the module that holds the tasks the configs name


@pytest.fixture
def user_configs(tmp_path) -> str:
    return write_user_configs(tmp_path)


class Sampler(LinearAutoencoder):
    """Samples codes from a unit Gaussian, as a model with a prior does."""

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.decode(torch.randn(n, self.latent_dim, generator=generator))


class SamplesInBytes(Sampler):
    def sample(self, n, generator=None):
        return (super().sample(n, generator) * 255).to(torch.uint8)


class SamplesOnAnotherScale(Sampler):
    def sample(self, n, generator=None):
        return super().sample(n, generator) * 255


class SamplesFewer(Sampler):
    def sample(self, n, generator=None):
        return super().sample(n, generator)[: n // 2]


class SamplesAnArray(Sampler):
    def sample(self, n, generator=None):
        return super().sample(n, generator).numpy()


class ReconstructsFlat(LinearAutoencoder):
    @torch.no_grad()
    def validate(self, batches, amp) -> dict[str, float]:
        return {"val/mse": sum(float(batch.float().mean()) for batch in batches)}

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return super().reconstruct(x).flatten(1)


@pytest.mark.parametrize(
    ("task", "metric", "problem"),
    [(SamplesInBytes, "fd", "sample returned a torch.uint8 tensor, not floats"),
     (SamplesOnAnotherScale, "fd", "sample returned values from 0 to 255, not in [0, 1]"),
     (SamplesFewer, "fd", "sample returned shape (10, 1, 28, 28), not (20, 1, 28, 28)"),
     (SamplesAnArray, "fd", "sample returned an ndarray, not a tensor"),
     (ReconstructsFlat, "reconstruction", "reconstruct returned shape (1000, 784), not "
      "(1000, 1, 28, 28)")],
)  # fmt: skip
def test_images_that_are_not_the_datas_are_refused_naming_the_member(
    user_configs, tmp_path, task, metric, problem
):
    """Bytes or images on [0, 255] were measured as if in [0, 1], and half the samples
    asked for as if they were all: figures written of them, wrong without a word. A flat
    batch or an array failed in torch's words, naming neither the task nor the member."""
    run = tmp_path / "run"
    target = f"model._target_={HERE}.{task.__name__}"
    settings = (f"evaluate.metrics=[{metric}]", "evaluate.samples=20")
    with pytest.raises(EvaluationError) as refused:
        train(toy_config(user_configs, run, target, *settings))
    assert (
        f"(ContractError: {task.__name__}.{problem}; it must return float images (B, C, H, W) "
        "in [0, 1])"
    ) in str(refused.value)
    assert (run / "checkpoints" / "last.pt").exists()


def test_images_in_range_are_measured(user_configs, tmp_path):
    """The check takes images that are right: a sampler's figures are written."""
    target = f"model._target_={HERE}.Sampler"
    metrics = train(toy_config(user_configs, tmp_path / "run", target, "evaluate.metrics=[fd]",
                               "evaluate.samples=20"))  # fmt: skip
    assert metrics["gen/samples"] == 20 and metrics["gen/fd"] >= 0
