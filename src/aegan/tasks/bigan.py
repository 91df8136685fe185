"""BiGAN (Donahue et al. 2016) and ALI (Dumoulin et al. 2016): a generator G(z), an encoder
E(x) and a discriminator D(x, z) that tells (x, E(x)) from (G(z), z); at the optimum E
inverts G, so the GAN learns to encode.

Per batch: one D step on both pairs, then one step of G and E together (the non-saturating
losses with the labels swapped), against the updated D. ``model.stochastic_encoder``: ALI's
encoder, a Gaussian q(z|x) sampled by reparameterisation; else BiGAN's deterministic one.
Images are in [-1, 1] inside, as for the DCGAN.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from aegan.amp import Amp
from aegan.contract import Task
from aegan.data import denormalize, normalize
from aegan.losses import get_gan_loss
from aegan.models.vae import reparameterize
from aegan.tasks.adversarial import pixel_fd, pooled_pixels, write_sample_png
from aegan.tasks.build import build_network, build_optimizer
from aegan.tasks.checks import MAX_CODE, MAX_FD_SAMPLES, MAX_NOISE_SEED, check_bool, check_number
from aegan.tasks.ema import ExponentialMovingAverage
from aegan.tasks.inputs import taken_codes, taken_images
from aegan.tasks.latents import PriorEncoderDecoder


class BiganTask(PriorEncoderDecoder, Task):
    """Train G, E and D(x, z); the objective is ``val/pixel_fd`` of G's samples."""

    objective = "val/pixel_fd"
    metrics = ("reconstruction", "probe", "pca", "classifier", "fd", "kid", "prdc", "classes")
    limits = {
        "compile_scope=step": "G's and E's outputs are back-propagated twice (D, then G and E)"
    }

    def __init__(
        self,
        *,
        image_shape: Sequence[int],
        device: torch.device | str = "cpu",
        name: str = "bigan",
        generator: dict,
        encoder: dict,
        discriminator: dict,
        g_optimizer: dict,
        d_optimizer: dict,
        latent_dim: int = 50,
        stochastic_encoder: bool = False,
        loss: str = "ns",
        ema_decay: float | None = 0.999,
        fd_samples: int = 2000,
        noise_seed: int = 0,
    ) -> None:
        check_number("model.latent_dim", latent_dim, low=1, high=MAX_CODE, integer=True)
        check_bool("model.stochastic_encoder", stochastic_encoder)
        check_number("model.ema_decay", ema_decay or 0.0, low=0, high=1, high_open=True)
        check_number("model.fd_samples", fd_samples, low=2, high=MAX_FD_SAMPLES, integer=True)
        check_number("model.noise_seed", noise_seed, low=0, high=MAX_NOISE_SEED, integer=True)
        self.loss = get_gan_loss(loss, penalty=False)
        self.name, self.latent_dim, self.stochastic = name, latent_dim, stochastic_encoder
        self.device, self.image_shape = torch.device(device), tuple(image_shape)
        self.generator = build_network(
            "model.generator", generator, require=("forward",), image_shape=image_shape,
            latent_dim=latent_dim,
        ).to(device)  # fmt: skip
        self.encoder = build_network(  # ALI's encoder gives a mean and a log-variance
            "model.encoder", encoder, require=("forward",), image_shape=image_shape,
            out_features=latent_dim * (2 if stochastic_encoder else 1),
        ).to(device)  # fmt: skip
        self.discriminator = build_network(
            "model.discriminator", discriminator, require=("forward",), image_shape=image_shape,
            latent_dim=latent_dim,
        ).to(device)  # fmt: skip
        self.networks: dict[str, nn.Module] = {
            "generator": self.generator, "encoder": self.encoder, "discriminator": self.discriminator,
        }  # fmt: skip
        self.ge_params = [*self.generator.parameters(), *self.encoder.parameters()]
        self.d_params = list(self.discriminator.parameters())
        self.optimizers = {
            "generator_encoder": build_optimizer("model.g_optimizer", g_optimizer, self.ge_params),
            "discriminator": build_optimizer("model.d_optimizer", d_optimizer, self.d_params),
        }
        self.ema = ExponentialMovingAverage(self.generator, float(ema_decay)) if ema_decay else None
        if self.ema is not None:
            self.networks["generator_ema"] = self.ema.network
        noise = torch.Generator().manual_seed(noise_seed)
        self.fixed_noise = self.draw_latents(64, noise).to(self.device)
        self.val_noise_seed, self.fd_samples, self.epoch = noise_seed + 1, fd_samples, 0

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        """x in [-1, 1] -> z: E's output (BiGAN), or a draw of q(z|x) (ALI)."""
        out = self.encoder(x)
        if not self.stochastic:
            return out
        mean, logvar = out.chunk(2, dim=1)
        return reparameterize(mean, logvar)

    def train_step(self, batch: torch.Tensor, amp: Amp) -> dict[str, torch.Tensor]:
        x = normalize(batch, "symmetric")  # (B, C, H, W) in [-1, 1]
        z = torch.randn(len(x), self.latent_dim, device=x.device)
        with amp.autocast():
            fake = self.generator(z)  # (B, C, H, W)
            codes = self._encode(x)  # (B, latent_dim)
            real_logits = self.discriminator(x, codes.detach())
            fake_logits = self.discriminator(fake.detach(), z)
        d_loss = self.loss.discriminator(real_logits, fake_logits)
        amp.backward(d_loss, inputs=self.d_params)
        amp.step(self.optimizers["discriminator"])
        with amp.autocast():  # G and E fool the updated D: the labels swapped
            ge_loss = self.loss.discriminator(
                self.discriminator(fake, z), self.discriminator(x, codes)
            )
        amp.backward(ge_loss, inputs=self.ge_params)
        amp.step(self.optimizers["generator_encoder"])
        if self.ema is not None:
            self.ema.update(self.generator)
        accuracy = torch.cat([real_logits > 0, fake_logits < 0]).float().mean()
        return {"train/d_loss": d_loss.detach(), "train/ge_loss": ge_loss.detach(),
                "train/d_accuracy": accuracy}  # fmt: skip

    # ---- what the metrics and a notebook call ---------------------------------------

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> E(x) (ALI: the mean of q(z|x)) (B, latent_dim)."""
        out = self.encoder(taken_images(self, "encode", x) * 2 - 1)
        return (out.chunk(2, dim=1)[0] if self.stochastic else out).float()

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (N, latent_dim) -> images in [0, 1], the EMA generator's."""
        network = self.ema.network if self.ema is not None else self.generator
        return denormalize(network(taken_codes(self, "decode", z)).float(), "symmetric")

    @torch.no_grad()
    def validate(self, batches: Iterable[torch.Tensor], amp: Amp) -> dict[str, float]:
        """``val/pixel_fd`` of ``fd_samples`` samples against the validation images (pooled
        pixels), and the MSE of G(E(x))."""
        features, errors, count = [], 0.0, 0
        for batch in batches:
            x = normalize(batch, "unit")
            features.append(pooled_pixels(x).cpu())
            errors += (self.reconstruct(x) - x).square().sum().item()
            count += x.numel()
        noise = torch.Generator().manual_seed(self.val_noise_seed)
        fakes = self.sample(self.fd_samples, noise)
        return {"val/pixel_fd": pixel_fd(fakes, features),
                "val/mse": errors / count}  # fmt: skip

    @torch.no_grad()
    def log_epoch(self, logger, data, step: int) -> None:
        """x over G(E(x)) for 16 validation images, the fixed-noise samples (and their PNG)."""
        self.epoch += 1
        x = normalize(data.fixed_images(16), "unit")
        logger.image_grid("val/x_over_g_of_e_of_x", torch.cat([x, self.reconstruct(x)]), step)
        png = logger.image_grid("samples/generator", self.generate(self.fixed_noise), step)
        write_sample_png(logger, self.epoch, png)

    def extra_state(self) -> dict[str, Any]:
        return {"fixed_noise": self.fixed_noise.cpu(), "epoch": self.epoch,
                "ema_updates": self.ema.updates() if self.ema is not None else 0}  # fmt: skip

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.fixed_noise = state["fixed_noise"].to(self.device)
        self.epoch = int(state["epoch"])
        if self.ema is not None:
            self.ema.set_updates(int(state["ema_updates"]))
