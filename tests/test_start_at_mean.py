"""The VAE's decoder starts at the training images' mean (``model.start_at_mean``), as Burda
et al.'s code starts its Bernoulli decoders; other settings of it are refused in one line."""

from __future__ import annotations

import pytest
import torch

from aegan.data import load_data, mean_image
from aegan.engine import load_checkpoint
from aegan.errors import ConfigError
from aegan.train import train
from conftest import TINY_AE, compose_config

TINY_VAE = [o for o in TINY_AE if not o.startswith("evaluate")] + [
    "model=vae", "evaluate.at_end=false", "data.subset=640", "logger.enabled=false",
]  # fmt: skip


def test_the_mean_image_is_summed_in_chunks_without_a_float_copy():
    images = torch.randint(0, 256, (1000, 3, 4, 5), dtype=torch.uint8)
    expected = (images.double().mean(0) / 255).float()
    assert torch.equal(mean_image(images, chunk=300), expected)
    assert mean_image(images).shape == (3, 4, 5)


def log_odds(mean: torch.Tensor) -> torch.Tensor:
    p = mean.flatten().clamp(1e-3, 1 - 1e-3)
    return torch.log(p) - torch.log1p(-p)


@pytest.mark.parametrize("start", [True, False])
def test_a_trained_vae_started_at_its_training_images_mean(start, tmp_path):
    cfg = compose_config([*TINY_VAE, f"model.start_at_mean={start}"], tmp_path / "run")
    train(cfg)
    bias = load_checkpoint(tmp_path / "run/checkpoints/last.pt")["networks"]["vae"]
    bias = bias["decoder.4.bias"]  # the last Linear of 32 -> 32 -> 64 -> 784
    data = load_data(cfg.data, data_dir=cfg.paths.data_dir)
    # 10 Adam steps of 1e-3 move a bias by about 0.01; torch's init is within +-1/8 of 0,
    # where blank border pixels have log-odds -6.9
    distance = (bias - log_odds(mean_image(data.train_images))).abs().max().item()
    assert distance < 0.05 if start else distance > 5


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.start_at_mean=yes"], "^model.start_at_mean='yes' is not allowed: it must be true"),
        (["model=conv_vae", "+model.start_at_mean=true"],
         "^model.start_at_mean=true is not allowed with model.net._target_=aegan.models.ConvVAE: "
         "its decoder has no output bias per pixel"),
    ],
)  # fmt: skip
def test_a_start_that_cannot_work_is_one_line_before_the_data(overrides, message, tmp_path,
                                                                monkeypatch):  # fmt: skip
    monkeypatch.setattr("aegan.train.load_data", lambda *a, **k: pytest.fail("data was read"))
    cfg = compose_config([*TINY_VAE, *overrides], tmp_path)
    with pytest.raises(ConfigError, match=message) as error:
        train(cfg)
    assert "\n" not in str(error.value)
