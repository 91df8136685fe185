"""One limit for each kind of size setting, whichever model has it: a code's width
(``model.latent_dim``, InfoGAN's generator input), the samples of a validation's FD, the
seed of a task's fixed draws; the line names the setting, the value and the range."""

from __future__ import annotations

import pytest
import torch
from hydra import compose, initialize_config_dir

from aegan.errors import ConfigError
from aegan.tasks import build_task
from aegan.tasks.checks import MAX_CODE, MAX_NOISE_SEED
from conftest import CONF_DIR


def refusal(overrides: list[str]) -> str:
    """The line that building the composed model on the meta device gives ('' if none)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides)
    try:
        build_task(cfg.model, (1, 28, 28), torch.device("meta"))
    except ConfigError as err:
        return str(err)
    return ""


@pytest.mark.parametrize(
    ("model", "low"),
    [("autoencoder", 1), ("conv_autoencoder", 1), ("vae", 1), ("aae", 2), ("dcgan", 1),
     ("bigan", 1), ("vae_gan", 1)],
)  # fmt: skip
def test_every_model_takes_the_same_code_sizes(model, low):
    """model.latent_dim=65537 was refused by BiGAN and VAE-GAN ([1, 65536]), taken by the
    VAE, the AAE and the DCGAN up to 2**20 (a DCGAN's fixed grid at 2**20 took 4.9 GB and
    44 s before its memory line) and by the autoencoder up to 2**31 - 1."""
    assert refusal([f"model={model}", f"model.latent_dim={MAX_CODE}"]) == ""
    assert refusal([f"model={model}", f"model.latent_dim={MAX_CODE + 1}"]) == (
        f"model.latent_dim={MAX_CODE + 1} is not allowed: it must be an integer in "
        f"[{low}, {MAX_CODE}]"
    )


def test_infogans_generator_input_is_a_code_as_wide_as_any():
    """noise_dim + categories + continuous is the generator's latent_dim; noise_dim was
    allowed up to 2**16 whatever the other two added to it."""
    widest = MAX_CODE - 10 - 2  # the config's 10 categories and 2 continuous codes
    assert refusal(["model=infogan", f"model.noise_dim={widest}"]) == ""
    assert refusal(["model=infogan", f"model.noise_dim={widest + 1}"]) == (
        f"model.noise_dim={widest + 1} is not allowed: it must be an integer in [1, {widest}]"
    )


@pytest.mark.parametrize("model", ["vae", "dcgan", "bigan", "vae_gan"])
def test_every_model_takes_the_same_noise_seeds(model):
    """The VAE took model.noise_seed=2**63 - 1, which the GANs refused ([0, 2**63 - 2])."""
    assert refusal([f"model={model}", f"model.noise_seed={MAX_NOISE_SEED}"]) == ""
    assert refusal([f"model={model}", f"model.noise_seed={MAX_NOISE_SEED + 1}"]) == (
        f"model.noise_seed={MAX_NOISE_SEED + 1} is not allowed: it must be an integer in "
        f"[0, {MAX_NOISE_SEED}]"
    )
