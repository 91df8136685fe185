"""A loaded run's methods given what a notebook might pass: one line naming the argument as
typed, its value and what is allowed, before the model or an allocation runs.

The runs here are built, not trained: the checks are of the arguments, not the weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aegan.run import Run
from conftest import CPU, TINY_AE, TINY_GAN, built, synthetic_data

MODELS = {
    "autoencoder": [*TINY_AE],
    "vae": [*TINY_AE, "model=vae"],
    "dcgan": [*TINY_GAN],
}
HUGE = 10**9  # images no machine holds: 10**9 x 784 floats are 2.9 TiB


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    """An untrained run of a dense autoencoder, a VAE (encodes and samples) and a DCGAN
    (only generates), in eval mode as ``load_run`` gives them back."""
    made = {}
    for name, overrides in MODELS.items():
        folder = tmp_path_factory.mktemp(name)
        cfg, task, _, _ = built(overrides, folder)
        task.train(False)
        made[name] = Run(folder, folder / "last.pt", cfg, task, synthetic_data(16), CPU, 0, 0)
    return made


def refusal(call) -> str:
    with pytest.raises(ValueError) as caught:
        call()
    assert "\n" not in str(caught.value)
    return str(caught.value)


SEED_RULE = "a seed must be an integer from 0 to 2**64 - 1"


@pytest.mark.parametrize("seed", [2**64, 2**70, -1, "a", 1.5, True, None, torch.tensor(2.0)])
def test_a_seed_torch_cannot_take_as_it_is_is_one_line(runs, seed):
    line = refusal(lambda: runs["vae"].sample(2, seed=seed))
    assert line == f"seed={seed!r:.40}: {SEED_RULE}"


def test_numpy_and_tensor_integers_count_as_the_integers_they_hold(runs):
    run = runs["dcgan"]
    drawn = run.sample(np.int64(3), seed=np.int64(7))
    assert torch.equal(drawn, run.sample(3, seed=7))
    assert torch.equal(run.sample(torch.tensor(3), seed=torch.tensor(7)), drawn)
    z = torch.randn(2, run.task.latent_dim)
    assert run.interpolate(z[0], z[1], steps=np.int32(4)).shape == (4, 1, 28, 28)
    assert "n=np.True_" in refusal(lambda: run.sample(np.True_))
