"""A task's methods that a notebook calls (``run.task.generate(z)``, ``encode``, ``decode``,
``reconstruct``, ``sample``, InfoGAN's ``generate_with_code``) given what a caller might
pass: one line naming the argument, its value and what the method takes, where a tensor of
another shape, dtype or device was a torch traceback from deep in a network, and InfoGAN's
categorical code not one-hot made images without a word.

The tasks here are built, not trained: the checks are of the arguments, not the weights.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from test_hybrids import MODELS, TINY

from aegan.run import Run
from conftest import CPU, TINY_AE, TINY_GAN, built, synthetic_data, value_refusal

OVERRIDES = {
    "autoencoder": TINY_AE,
    "vae": [*TINY_AE, "model=vae"],
    "aae": [*TINY, *MODELS["aae"]],
    "bigan": [*TINY, *MODELS["bigan"]],
    "vae_gan": [*TINY, *MODELS["vae_gan"]],
    "infogan": [*TINY_GAN, "model=infogan"],
}
ONE_HOT = (
    "one-hot: one 1 and 9 zeros (F.one_hot(c, 10)); generate_with_code(category, n) makes them"
)


@pytest.fixture(scope="module")
def tasks(tmp_path_factory) -> dict:
    made = {}
    for name, overrides in OVERRIDES.items():
        _, task, _, _ = built(overrides, tmp_path_factory.mktemp(name))
        task.train(False)
        made[name] = task
    return made


def codes(task, category: int | torch.Tensor, n: int = 3) -> torch.Tensor:
    """InfoGAN's generator input: noise, ``category`` one-hot (or these values), continuous."""
    noise = torch.randn(n, task.noise_dim, generator=torch.Generator().manual_seed(0))
    if isinstance(category, int):
        category = F.one_hot(torch.full((n,), category), task.categories).float()
    return torch.cat([noise, category.expand(n, -1), torch.zeros(n, task.continuous)], 1)


@pytest.mark.parametrize(
    ("categorical", "shown"),
    [(torch.zeros(10), "0, 0, 0, 0, 0, 0, 0, 0, 0, 0"),
     (torch.tensor([1.0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), "1, 0, 0, 0, 0, 0, 0, 0, 0, 1"),
     (torch.full((10,), 0.5), "0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5"),
     (torch.tensor([2.0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), "2, 0, 0, 0, 0, 0, 0, 0, 0, 0")],
)  # fmt: skip
def test_infogans_categorical_code_not_one_hot_is_refused(tasks, tmp_path, categorical, shown):
    task = tasks["infogan"]
    z = codes(task, categorical)
    line = value_refusal(lambda: task.generate(z))
    assert line == (
        f"z[0, 62:72] = [{shown}]: InfoGanTask.generate takes each row's categorical code "
        f"(columns 62 to 71, after the 62 noise values) {ONE_HOT}"
    )
    run = Run(tmp_path, tmp_path / "last.pt", None, task, synthetic_data(16), CPU, 0, 0)
    assert value_refusal(lambda: run.generate(z)) == line  # a loaded run's generate: the same line


def test_infogans_one_hot_codes_make_images_and_a_line_within_one_category(tasks, tmp_path):
    task = tasks["infogan"]
    assert task.generate(codes(task, 3)).shape == (3, 1, 28, 28)
    assert task.generate(codes(task, 3).double()).shape == (3, 1, 28, 28)
    run = Run(tmp_path, tmp_path / "last.pt", None, task, synthetic_data(16), CPU, 0, 0)
    a, b = codes(task, 3, 1)[0], codes(task, 3, 1)[0] + torch.cat([torch.ones(62), torch.zeros(12)])
    assert run.interpolate(a, b, steps=7).shape == (7, 1, 28, 28)  # rounding stays one-hot
    assert value_refusal(  # the line's own row was named, not one the user gave
        lambda: run.interpolate(codes(task, 0, 1)[0], codes(task, 1, 1)[0], steps=7)
    ).startswith("a and b: the points between them are no latent vectors infogan generates")


@pytest.mark.parametrize(
    ("arguments", "line"),
    [((10, 2), "category=10: the categorical code is an integer from 0 to 9"),
     ((-1, 2), "category=-1: the categorical code is an integer from 0 to 9"),
     ((2.5, 2), "category=2.5: the categorical code is an integer from 0 to 9"),
     ((None, 2), "category=None: the categorical code is an integer from 0 to 9"),
     ((True, 2), "category=True: the categorical code is an integer from 0 to 9"),
     ((1, -1), "n=-1: the number of images must be an integer >= 0"),
     ((1, 2.0), "n=2.0: the number of images must be an integer >= 0"),
     ((1, 2, 7), "generator=7: InfoGanTask.generate_with_code takes a torch.Generator (seeded: "
      "torch.Generator().manual_seed(0)) or None")],
)  # fmt: skip
def test_generate_with_code_refuses_what_is_no_category_count_or_generator(tasks, arguments, line):
    assert value_refusal(lambda: tasks["infogan"].generate_with_code(*arguments)) == line


def test_generate_with_code_makes_images_of_that_category(tasks):
    task = tasks["infogan"]
    images = task.generate_with_code(4, 2, torch.Generator().manual_seed(0))
    assert images.shape == (2, 1, 28, 28) and images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize("model", ["autoencoder", "vae", "aae", "bigan", "vae_gan"])
def test_encode_decode_and_reconstruct_refuse_what_they_cannot_take(tasks, model):
    task = tasks[model]
    owner, width = type(task).__name__, task.latent_dim
    name = "codes" if model in ("autoencoder", "aae") else "z"
    assert value_refusal(lambda: task.decode(torch.zeros(2, width + 1))) == (
        f"{name} of shape (2, {width + 1}): {owner}.decode takes codes (N, {width})"
    )
    assert value_refusal(lambda: task.decode(torch.full((2, width), float("nan")))) == (
        f"{name} holding NaN or infinity: {owner}.decode takes finite codes"
    )
    assert value_refusal(lambda: task.encode(torch.rand(2, 3, 32, 32))) == (
        f"x of shape (2, 3, 32, 32): {owner}.encode takes images (N, 1, 28, 28)"
    )
    assert value_refusal(lambda: task.reconstruct(torch.rand(1, 28, 28))) == (
        f"x of shape (1, 28, 28): {owner}.reconstruct takes images (N, 1, 28, 28)"
    )
    assert value_refusal(lambda: task.encode([[0.0]])) == (
        f"x of type list: {owner}.encode takes images (N, 1, 28, 28), as a tensor or numpy array"
    )
    assert value_refusal(lambda: task.encode(torch.ones(2, 1, 28, 28) * 255)) == (
        f"x with values in [255, 255]: {owner}.encode takes uint8 in [0, 255] or floats in [0, 1]"
    )
    pixels = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)
    assert torch.equal(task.encode(pixels), task.encode(pixels.float() / 255))  # uint8: [0, 255]
    z = torch.randn(2, width, dtype=torch.float64)
    assert torch.equal(task.decode(z), task.decode(z.float()))


@pytest.mark.parametrize("model", ["vae", "aae", "bigan", "vae_gan", "infogan"])
def test_sample_and_generate_refuse_what_they_cannot_take(tasks, model):
    task = tasks[model]
    owner, width = type(task).__name__, task.latent_dim
    assert (
        value_refusal(lambda: task.sample(-1))
        == "n=-1: the number of images must be an integer >= 0"
    )
    assert (
        value_refusal(lambda: task.sample(2.0))
        == "n=2.0: the number of images must be an integer >= 0"
    )
    assert value_refusal(lambda: task.sample(2, 7)).startswith(
        f"generator=7: {owner}.sample takes a "
    )
    assert value_refusal(lambda: task.generate(torch.zeros(width))) == (
        f"z of shape ({width},): {owner}.generate takes codes (N, {width})"
    )
    assert task.sample(2, torch.Generator().manual_seed(0)).shape == (2, 1, 28, 28)


def test_the_vaes_and_aaes_figures_of_images_refuse_what_they_cannot_take(tasks):
    """A (1, 28, 28) image was read as a batch of one without a word, floats in [0, 255]
    scored as pixels, uint8 and k=2.5 failed in torch, k=10**9 in its allocator."""
    vae, aae = tasks["vae"], tasks["aae"]
    assert value_refusal(lambda: vae.kl_per_dimension(torch.rand(1, 28, 28))) == (
        "x of shape (1, 28, 28): VaeTask.kl_per_dimension takes images (N, 1, 28, 28)"
    )
    assert value_refusal(lambda: vae.elbo_terms(torch.ones(2, 1, 28, 28) * 255)).startswith(
        "x with values in [255, 255]: VaeTask.elbo_terms takes uint8 in [0, 255] or floats in [0, 1]"
    )
    pixels = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)
    assert vae.log_importance_weights(pixels, 3).shape == (2, 3)
    for k in (0, 2.5):
        assert value_refusal(lambda k=k: vae.log_importance_weights(pixels, k)) == (
            f"k={k}: the draws per image must be a positive integer"
        )
    assert value_refusal(lambda: vae.log_importance_weights(pixels, 10**9)).startswith(
        "k=1000000000 for 2 images: 2000000000 images of (1, 28, 28) take"
    )  # torch's allocator failed instead
    assert value_refusal(lambda: aae.posterior_codes(pixels, 7)).startswith(
        "generator=7: AaeTask.posterior_codes takes a torch.Generator"
    )
    assert aae.posterior_codes(pixels).shape == (2, aae.latent_dim)


def test_a_gans_generate_takes_ema_as_true_or_false(tasks):
    task = tasks["infogan"]
    z = codes(task, 2)
    assert value_refusal(lambda: task.generate(z, ema="no")) == (
        "ema='no': InfoGanTask.generate takes True or False"
    )
    assert task.generate(z, ema=False).shape == (3, 1, 28, 28)
