"""VAE-GAN (Larsen et al. 2016): a VAE whose reconstruction error is measured in a hidden
layer of a discriminator that also judges its reconstructions and prior samples.

With Dis_l(x) the discriminator's last convolutional features, per batch:

- L_prior = KL(q(z|x) || N(0, I)); L_llike = 0.5 |Dis_l(x) - Dis_l(Dec(z))|^2 (a Gaussian
  with unit variance in feature space), summed over features, per image, with D's dropout
  off (the paper's D has none: the features are a function of the image);
- L_GAN: D's loss on x (real) against Dec(z) and Dec(z_p), z_p ~ N(0, I) (fake);
- the paper's three updates, each with its own optimizer: the encoder on L_prior + L_llike,
  the decoder on gamma * L_llike - L_GAN (it fools D), the discriminator on L_GAN.

Images are in [-1, 1] inside (the decoder is the DCGAN generator, tanh). With
``ema_decay`` the codes, reconstructions, samples and metrics come from an exponential
moving average of the encoder and decoder, as the GANs' samples come from an average of
their generator.
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
from aegan.tasks.adversarial import pixel_fd, pooled_pixels
from aegan.tasks.build import build_network, build_optimizer
from aegan.tasks.checks import MAX_CODE, MAX_FD_SAMPLES, MAX_NOISE_SEED, check_number
from aegan.tasks.ema import ExponentialMovingAverage
from aegan.tasks.inputs import taken_codes, taken_images
from aegan.tasks.latents import PriorEncoderDecoder
from aegan.tasks.vae import gaussian_kl


class VaeGanTask(PriorEncoderDecoder, Task):
    """Train the encoder, decoder and discriminator; the objective is ``val/pixel_fd`` of
    the decoded prior samples."""

    objective = "val/pixel_fd"
    metrics = ("reconstruction", "probe", "pca", "active_units", "classifier", "fd", "kid",
               "prdc", "classes")  # fmt: skip

    def __init__(
        self,
        *,
        image_shape: Sequence[int],
        device: torch.device | str = "cpu",
        name: str = "vae_gan",
        encoder: dict,
        decoder: dict,
        discriminator: dict,
        e_optimizer: dict,
        g_optimizer: dict,
        d_optimizer: dict,
        latent_dim: int = 32,
        gamma: float = 1e-3,
        beta: float = 1.0,
        loss: str = "ns",
        ema_decay: float | None = None,
        fd_samples: int = 2000,
        noise_seed: int = 0,
    ) -> None:
        check_number("model.latent_dim", latent_dim, low=1, high=MAX_CODE, integer=True)
        check_number("model.gamma", gamma, low=0, high=1e6)
        check_number("model.beta", beta, low=0, high=1e6)
        check_number("model.ema_decay", ema_decay or 0.0, low=0, high=1, high_open=True)
        check_number("model.fd_samples", fd_samples, low=2, high=MAX_FD_SAMPLES, integer=True)
        check_number("model.noise_seed", noise_seed, low=0, high=MAX_NOISE_SEED, integer=True)
        self.loss = get_gan_loss(loss, penalty=False)
        self.name, self.latent_dim, self.gamma, self.beta = name, latent_dim, gamma, beta
        self.device, self.image_shape = torch.device(device), tuple(image_shape)
        self.encoder = build_network(
            "model.encoder", encoder, require=("forward",), image_shape=image_shape,
            out_features=2 * latent_dim,
        ).to(device)  # fmt: skip
        self.decoder = build_network(
            "model.decoder", decoder, require=("forward",), image_shape=image_shape,
            latent_dim=latent_dim,
        ).to(device)  # fmt: skip
        self.discriminator = build_network(  # its features measure the reconstruction error
            "model.discriminator", discriminator, require=("features", "apply_head"),
            image_shape=image_shape,
        ).to(device)  # fmt: skip
        self.networks: dict[str, nn.Module] = {
            "encoder": self.encoder, "decoder": self.decoder, "discriminator": self.discriminator,
        }  # fmt: skip
        self.params = {name: list(net.parameters()) for name, net in self.networks.items()}
        self.optimizers = {
            "encoder": build_optimizer("model.e_optimizer", e_optimizer, self.params["encoder"]),
            "decoder": build_optimizer("model.g_optimizer", g_optimizer, self.params["decoder"]),
            "discriminator": build_optimizer(
                "model.d_optimizer", d_optimizer, self.params["discriminator"]
            ),
        }
        # the pair the average follows (a run from before it had none: the default is off)
        self.autoencoder = nn.ModuleDict({"encoder": self.encoder, "decoder": self.decoder})
        self.ema = (
            ExponentialMovingAverage(self.autoencoder, float(ema_decay)) if ema_decay else None
        )
        if self.ema is not None:
            self.networks["autoencoder_ema"] = self.ema.network
        noise = torch.Generator().manual_seed(noise_seed)
        self.fixed_noise = self.draw_latents(64, noise).to(self.device)
        self.val_noise_seed, self.fd_samples = noise_seed + 1, fd_samples

    def _logits(self, images: torch.Tensor) -> torch.Tensor:
        """D's logits (N,): its head on its features, the two parts the task calls."""
        return self.discriminator.apply_head(self.discriminator.features(images)).squeeze(-1)

    def _feature_error(self, x: torch.Tensor, reconstructions: torch.Tensor) -> torch.Tensor:
        """Dis_l(Dec(z)) - Dis_l(x), flattened (B, F), fp32: D's features in eval mode (its
        dropout off), a function of the image as the likelihood needs (through two random
        masks the error of a perfect reconstruction is not 0, and its least is at smaller
        features)."""
        training = self.discriminator.training
        self.discriminator.train(False)
        try:
            with torch.no_grad():
                real = self.discriminator.features(x)
            error = self.discriminator.features(reconstructions).float() - real.float()
        finally:
            self.discriminator.train(training)
        return error.flatten(1)

    def train_step(self, batch: torch.Tensor, amp: Amp) -> dict[str, torch.Tensor]:
        x = normalize(batch, "symmetric")  # (B, C, H, W) in [-1, 1]
        with amp.autocast():
            mean, logvar = self.encoder(x).chunk(2, dim=1)  # (B, latent_dim) each
            z = reparameterize(mean, logvar)
            z_prior = torch.randn_like(mean)
            fakes = self.decoder(torch.cat([z, z_prior]))  # (2B, C, H, W): Dec(z), Dec(z_p)
            real_logits, fake_logits = self._logits(x), self._logits(fakes)  # (B,), (2B,)
            feature_error = self._feature_error(x, fakes[: len(x)])  # (B, F)
        llike = 0.5 * feature_error.square().sum(1).mean()  # per image
        kl = gaussian_kl(mean, logvar).sum(1).mean()
        d_loss = self.loss.discriminator(real_logits, fake_logits)
        g_adversarial = self.loss.generator(fake_logits)
        amp.backward(d_loss, inputs=self.params["discriminator"], retain_graph=True)
        amp.backward(self.beta * kl + llike, inputs=self.params["encoder"], retain_graph=True)
        amp.backward(self.gamma * llike + g_adversarial, inputs=self.params["decoder"])
        for optimizer in self.optimizers.values():
            amp.step(optimizer)
        if self.ema is not None:
            self.ema.update(self.autoencoder)
        accuracy = torch.cat([real_logits > 0, fake_logits < 0]).float().mean()
        return {"train/d_loss": d_loss.detach(), "train/g_loss": g_adversarial.detach(),
                "train/llike": llike.detach(), "train/kl": kl.detach(),
                "train/d_accuracy": accuracy}  # fmt: skip

    # ---- what the metrics and a notebook call ---------------------------------------

    @property
    def inference(self) -> nn.ModuleDict:
        """The encoder and decoder that codes, images and metrics come from: the average's
        where there is one."""
        return self.ema.network if self.ema is not None else self.autoencoder

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> the posterior means (B, latent_dim)."""
        x = taken_images(self, "encode", x)
        return self.inference["encoder"](x * 2 - 1).chunk(2, dim=1)[0].float()

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (N, latent_dim) -> the decoder's images in [0, 1]."""
        z = taken_codes(self, "decode", z)
        return denormalize(self.inference["decoder"](z).float(), "symmetric")

    @torch.no_grad()
    def validate(self, batches: Iterable[torch.Tensor], amp: Amp) -> dict[str, float]:
        """``val/pixel_fd`` of decoded prior samples against the validation images (pooled
        pixels), the reconstructions' MSE and the KL per image."""
        features, errors, kl, count, images = [], 0.0, 0.0, 0, 0
        for batch in batches:
            x = normalize(batch, "unit")
            features.append(pooled_pixels(x).cpu())
            errors += (self.reconstruct(x) - x).square().sum().item()
            mean, logvar = self.inference["encoder"](x * 2 - 1).chunk(2, dim=1)
            kl += gaussian_kl(mean, logvar).sum().item()
            count, images = count + x.numel(), images + len(x)
        fakes = self.sample(self.fd_samples, torch.Generator().manual_seed(self.val_noise_seed))
        return {"val/pixel_fd": pixel_fd(fakes, features),
                "val/mse": errors / count, "val/kl": kl / images}  # fmt: skip

    @torch.no_grad()
    def log_epoch(self, logger, data, step: int) -> None:
        """Reconstructions of 16 validation images and 64 decoded prior samples."""
        x = normalize(data.fixed_images(16), "unit")
        logger.image_grid("val/reconstructions", torch.cat([x, self.reconstruct(x)]), step)
        logger.image_grid("samples/prior", self.generate(self.fixed_noise), step)

    def extra_state(self) -> dict[str, Any]:
        return {"fixed_noise": self.fixed_noise.cpu(),
                "ema_updates": self.ema.updates() if self.ema is not None else 0}  # fmt: skip

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.fixed_noise = state["fixed_noise"].to(self.device)
        if self.ema is not None:
            self.ema.set_updates(int(state["ema_updates"]))
