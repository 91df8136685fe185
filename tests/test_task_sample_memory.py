"""A task's own ``sample(n)`` and InfoGAN's ``generate_with_code(category, n)``, called on the
task (``run.task.sample(n)``, not ``Run.sample``): a count whose images would not fit the
device is one line naming the method and the count, as ``Run.sample`` says it, where
``task.sample(10**9)`` set out to draw and generate them all."""

from __future__ import annotations

import pytest
from test_hybrids import MODELS, TINY

from conftest import TINY_AE, TINY_GAN, built, value_refusal

MEMORY = 10 * 2**20  # the device's memory here: 80% of it holds 1,000 28x28 images twice
OVERRIDES = {
    "vae": [*TINY_AE, "model=vae"],
    "aae": [*TINY, *MODELS["aae"]],
    "dcgan": TINY_GAN,
    "infogan": [*TINY_GAN, "model=infogan"],
}


@pytest.fixture
def small_memory(monkeypatch):
    monkeypatch.setattr("aegan.tasks.inputs.device_memory", lambda device: MEMORY, raising=False)


@pytest.mark.parametrize("model", list(OVERRIDES))
def test_a_sample_beyond_the_devices_memory_is_one_line(model, tmp_path, small_memory):
    _, task, _, _ = built(OVERRIDES[model], tmp_path)
    task.train(False)
    name = type(task).__name__
    assert value_refusal(lambda: task.sample(2000)).startswith(
        f"{name}.sample(n=2000): 2000 images of (1, 28, 28) take 0.0 GiB, more than 80% of "
        "this cpu's 0.0 GiB; ask for fewer at a time"
    )
    assert task.sample(1000).shape == (1000, 1, 28, 28)
    if model == "infogan":
        assert value_refusal(lambda: task.generate_with_code(3, 2000)).startswith(
            f"{name}.generate_with_code(n=2000): 2000 images of (1, 28, 28)"
        )
        assert task.generate_with_code(3, 1000).shape == (1000, 1, 28, 28)
