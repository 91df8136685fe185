"""A loaded run's methods given what a notebook might pass: one line naming the argument as
typed, its value and what is allowed, before the model or an allocation runs.

The runs here are built, not trained: the checks are of the arguments, not the weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aegan.run import Run
from conftest import CPU, TINY_AE, TINY_GAN, built, synthetic_data, value_refusal

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


SEED_RULE = "a seed must be an integer from 0 to 2**64 - 1"


@pytest.mark.parametrize("seed", [2**64, 2**70, -1, "a", 1.5, True, None, torch.tensor(2.0)])
def test_a_seed_torch_cannot_take_as_it_is_is_one_line(runs, seed):
    line = value_refusal(lambda: runs["vae"].sample(2, seed=seed))
    assert line == f"seed={seed!r:.40}: {SEED_RULE}"


def test_numpy_and_tensor_integers_count_as_the_integers_they_hold(runs):
    run = runs["dcgan"]
    drawn = run.sample(np.int64(3), seed=np.int64(7))
    assert torch.equal(drawn, run.sample(3, seed=7))
    assert torch.equal(run.sample(torch.tensor(3), seed=torch.tensor(7)), drawn)
    z = torch.randn(2, run.task.latent_dim)
    assert run.interpolate(z[0], z[1], steps=np.int32(4)).shape == (4, 1, 28, 28)
    assert "n=np.True_" in value_refusal(lambda: run.sample(np.True_))


@pytest.mark.parametrize(
    ("model", "method", "value", "message"),
    [("autoencoder", "decode", torch.zeros(1, 32).expand(HUGE, 32), "codes of shape (1000000000, 32): 1000000000 images of (1, 28, 28) take 2920.6 GiB"),
     ("vae", "generate", torch.zeros(1, 32).expand(HUGE, 32), "z of shape (1000000000, 32): 1000000000 images"),
     ("dcgan", "generate", torch.zeros(1, 100).expand(HUGE, 100), "z of shape (1000000000, 100): 1000000000 images"),
     ("dcgan", "generate", np.broadcast_to(np.zeros(100, np.float32), (HUGE, 100)), "z of shape (1000000000, 100)"),
     ("autoencoder", "encode", torch.zeros(1, 1, 28, 28, dtype=torch.uint8).expand(HUGE, 1, 28, 28), "images of shape (1000000000, 1, 28, 28): 1000000000 images"),
     ("vae", "reconstruct", torch.zeros(1, 1, 28, 28, dtype=torch.uint8).expand(HUGE, 1, 28, 28), "images of shape (1000000000, 1, 28, 28)")],
)  # fmt: skip
def test_a_batch_too_big_to_hold_is_refused_before_the_model_runs(
    runs, model, method, value, message
):
    line = value_refusal(lambda: getattr(runs[model], method)(value))
    assert line.startswith(message) and line.endswith("ask for fewer at a time"), line


@pytest.mark.parametrize(
    ("model", "a", "b", "message"),
    [("dcgan", torch.zeros(101), torch.zeros(101), "a of shape (101,): this run's model takes a code (100,)"),
     ("dcgan", torch.zeros(100), torch.full((100,), np.nan), "b holding NaN or infinity"),
     ("dcgan", torch.zeros(100, device="meta"), torch.zeros(100), "a on the meta device hold no values"),
     ("dcgan", torch.zeros(100), torch.tensor(1.0), "b of shape (): this run's model takes a code (100,)"),
     ("autoencoder", torch.zeros(32), torch.zeros(32), "a of shape (32,): this run's model takes an image (1, 28, 28)"),
     ("autoencoder", torch.zeros(1, 28, 28), torch.full((1, 28, 28), 255.0), "b with values in [255, 255]"),
     ("vae", torch.zeros(1, 28, 28), torch.zeros(1, 1, 28, 28), "b of shape (1, 1, 28, 28): this run's model takes an image (1, 28, 28)"),
     ("vae", [0.0], [0.0], "a of type list: this run's model takes an image (1, 28, 28), as a tensor or numpy array")],
)  # fmt: skip
def test_an_interpolation_names_a_and_b(runs, model, a, b, message):
    assert value_refusal(lambda: runs[model].interpolate(a, b, steps=3)).startswith(message)


def test_an_interpolation_takes_a_uint8_and_a_float_image_as_the_same_pixels(runs):
    run, images = runs["vae"], runs["vae"].data.test_images[:2]
    mixed = run.interpolate(images[0], images[1].float() / 255, steps=3)
    assert torch.allclose(mixed, run.interpolate(images[0], images[1], steps=3), atol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [(lambda run: run.generate(torch.zeros(2, 7)), "z of shape (2, 7): this run's model takes codes (N, 32)"),
     (lambda run: run.decode(torch.zeros(2, 32, device="meta")), "codes on the meta device hold no values"),
     (lambda run: run.encode(torch.zeros(2, 1, 28, 28).to_sparse()), "images: a tensor of layout torch.sparse_coo; this run's model takes images (N, 1, 28, 28), dense"),
     (lambda run: run.encode(np.array([[None]], dtype=object)), "images: a numpy array of dtype object; this run's model takes images (N, 1, 28, 28)"),
     (lambda run: run.reconstruct(None), "images of type NoneType: this run's model takes images (N, 1, 28, 28), as a tensor or numpy array")],
)  # fmt: skip
def test_a_wrong_argument_is_named_as_the_caller_typed_it(runs, call, message):
    assert value_refusal(lambda: call(runs["vae"])).startswith(message)


def test_the_methods_leave_eval_mode_and_the_grad_switch_as_they_found_them(runs):
    run = runs["vae"]
    images = run.data.test_images[:2].float().div(255).requires_grad_()
    for out in (
        run.encode(images),
        run.reconstruct(images),
        run.sample(2),
        run.decode(run.encode(images)),
    ):
        assert not out.requires_grad
    run.interpolate(images[0], images[1], steps=3)
    assert torch.is_grad_enabled()
    assert not any(network.training for network in run.networks.values())


def test_a_big_batch_runs_through_the_network_a_chunk_at_a_time(runs, monkeypatch):
    """A conv net's activations are ~30x its images: a batch whose output fits may not fit
    through the network whole, so the network sees CHUNK images at a time."""
    run, sizes = runs["vae"], []
    decode = run.task.decode
    codes = torch.randn(1200, 32)
    whole = decode(codes)
    monkeypatch.setattr(run.task, "decode", lambda z: sizes.append(len(z)) or decode(z))
    assert torch.allclose(run.decode(codes), whole, atol=1e-6)
    assert sizes == [500, 500, 200]


def test_memory_counts_every_image_sized_tensor_held_at_once(runs, monkeypatch):
    """8 MiB of 10: 2000 images of 3 KiB fit once (encode's float copy), not twice
    (reconstruct's copy and its output; sample's chunks and their joined output)."""
    monkeypatch.setattr("aegan.tasks.inputs.device_memory", lambda device: 10 * 2**20)
    run, images = runs["vae"], torch.zeros(2000, 1, 28, 28, dtype=torch.uint8)
    assert run.encode(images).shape == (2000, 32)
    assert "images of shape (2000, 1, 28, 28): 2000 images" in value_refusal(
        lambda: run.reconstruct(images)
    )
    assert value_refusal(lambda: run.sample(2000)).startswith("n=2000: 2000 images of (1, 28, 28)")
