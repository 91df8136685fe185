"""The variational autoencoder task (Kingma and Welling 2014), beta-VAE (Higgins et al.
2017): maximise E_q[log p(x|z)] - beta * KL(q(z|x) || N(0, I)) with the
reparameterisation trick, the KL weight optionally warmed up from 0.

Likelihoods: Bernoulli on the decoder's logits (the default; on grey pixels in [0, 1] it is
the cross-entropy used throughout the literature, a proper likelihood on binarised data:
``data.binarize``), or Gaussian with mean sigmoid(logits) and a learned or fixed scale.
Figures are nats per image: sums over pixels and latent dimensions, means over images.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from aegan.amp import Amp
from aegan.contract import Task
from aegan.data import normalize
from aegan.errors import ConfigError
from aegan.losses import bernoulli_nll
from aegan.models.vae import GaussianEncoderDecoder, reparameterize
from aegan.tasks.build import build_network, build_optimizer
from aegan.tasks.checks import (
    MAX_CODE,
    MAX_NOISE_SEED,
    check_choice,
    check_hidden_dims,
    check_number,
)
from aegan.tasks.inputs import check_fits, integer, taken_codes, taken_images
from aegan.tasks.latents import PriorEncoderDecoder

LIKELIHOODS = ("bernoulli", "gaussian")
LOG_2PI = math.log(2 * math.pi)


class GaussianScale(nn.Module):
    """The Gaussian likelihood's scale sigma, one for all pixels: learned (a parameter,
    log sigma, starting at 0) or fixed (a buffer)."""

    def __init__(self, fixed: float | None) -> None:
        super().__init__()
        log_scale = torch.zeros(()) if fixed is None else torch.full((), math.log(fixed))
        if fixed is None:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per dimension, (B, D), in fp32."""
    mean, logvar = mean.float(), logvar.float()
    return 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar)


class VaeTask(PriorEncoderDecoder, Task):
    """Train a ``GaussianEncoderDecoder`` (``aegan.models.vae``); the objective is the
    validation loss, -E_q[log p(x|z)] + beta * KL, in nats per image."""

    objective = "val/loss"
    metrics = ("elbo", "iwae", "active_units", "reconstruction", "probe", "pca", "classifier",
               "fd", "kid", "prdc", "classes")  # fmt: skip

    def __init__(
        self,
        *,
        image_shape: Sequence[int],
        device: torch.device | str = "cpu",
        name: str = "vae",
        net: dict,
        optimizer: dict,
        latent_dim: int = 32,
        hidden_dims: Sequence[int] | None = None,  # read by model.net: ${..hidden_dims}
        likelihood: str = "bernoulli",
        gaussian_scale: float | None = None,
        beta: float = 1.0,
        kl_warmup_steps: int = 0,
        noise_seed: int = 0,
    ) -> None:
        check_number("model.latent_dim", latent_dim, low=1, high=MAX_CODE, integer=True)
        check_choice("model.likelihood", likelihood, LIKELIHOODS)
        if gaussian_scale is not None:
            check_number("model.gaussian_scale", gaussian_scale, low=1e-6, high=1e6)
            if likelihood != "gaussian":  # it would be ignored: a sweep over it measures nothing
                raise ConfigError(
                    f"model.gaussian_scale={gaussian_scale} is not allowed with "
                    f"model.likelihood={likelihood}, which has no scale: set "
                    "model.likelihood=gaussian, or leave model.gaussian_scale=null"
                )
        check_number("model.beta", beta, low=0, high=1e6)
        check_number("model.kl_warmup_steps", kl_warmup_steps, low=0, high=2**40, integer=True)
        check_number("model.noise_seed", noise_seed, low=0, high=MAX_NOISE_SEED, integer=True)
        check_hidden_dims(hidden_dims, net)
        self.name, self.latent_dim, self.likelihood = name, latent_dim, likelihood
        self.beta, self.kl_warmup_steps = float(beta), int(kl_warmup_steps)
        if not beta:
            self.inert = {"model.kl_warmup_steps": "model.beta=0 has no KL term to warm up"}
        self.net = build_network(
            "model.net", net, require=("encode", "decode_logits"), image_shape=image_shape,
            latent_dim=latent_dim,
        ).to(device)  # fmt: skip
        if not isinstance(self.net, GaussianEncoderDecoder):  # encode gives (mean, logvar)
            raise ConfigError(
                f"model.net._target_={net['_target_']} is not allowed here: the VAE needs an "
                "encoder that gives a mean and a log-variance (aegan.models.DenseVAE, ConvVAE)"
            )
        self.device, self.image_shape = torch.device(device), tuple(image_shape)
        self.networks: dict[str, nn.Module] = {"vae": self.net}
        params = list(self.net.parameters())
        self.scale: GaussianScale | None = None
        if likelihood == "gaussian":
            self.scale = GaussianScale(gaussian_scale).to(device)
            self.networks["likelihood"] = self.scale
            params += list(self.scale.parameters())
        self.optimizers = {"optimizer": build_optimizer("model.optimizer", optimizer, params)}
        self.steps = torch.zeros((), device=self.device)  # on the device: the warm-up's clock
        noise = torch.Generator().manual_seed(noise_seed)
        self.fixed_noise = self.draw_latents(64, noise).to(self.device)
        self.kl_per_dim: torch.Tensor | None = None  # (latent_dim,), from the last validation

    # ---- the objective --------------------------------------------------------------

    def log_likelihood(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x|z) per image (B,), summed over pixels, fp32; ``logits`` (B, C, H, W)."""
        logits = logits.float()
        if self.scale is None:
            return -bernoulli_nll(logits, x)
        log_scale = self.scale.log_scale.float()
        z = (x - torch.sigmoid(logits)) * torch.exp(-log_scale)
        return -(0.5 * z.square() + log_scale + 0.5 * LOG_2PI).flatten(1).sum(1)

    def _log_likelihoods(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``log_likelihood`` of k decodes per image, (B, k), no grad: ``logits`` (B, k, P), fp32,
        overwritten; ``x`` (B, P) broadcast, not copied. Bernoulli: l . x (one bmm) less softplus
        written over the logits, as a new tensor their size (63 MB) is paged in at each call."""
        if self.scale is None:
            products = torch.bmm(logits, x.to(logits.dtype)[:, :, None]).squeeze(2)
            return products - torch.logaddexp(logits, logits.new_zeros(()), out=logits).sum(2)
        log_scale = self.scale.log_scale.float()
        z = (x[:, None] - torch.sigmoid(logits)) * torch.exp(-log_scale)
        return -(0.5 * z.square() + log_scale + 0.5 * LOG_2PI).sum(2)

    def _terms(self, x: torch.Tensor, amp: Amp | None = None):
        """(log p(x|z) (B,) at one z ~ q(z|x), drawn by the reparameterisation trick; the KL
        per dimension (B, D))."""
        with amp.autocast() if amp is not None else contextlib.nullcontext():
            mean, logvar = self.net.encode(x)
            logits = self.net.decode_logits(reparameterize(mean, logvar))
        return self.log_likelihood(logits, x), gaussian_kl(mean, logvar)

    def kl_weight(self) -> torch.Tensor:
        """beta, ramped linearly from 0 over ``kl_warmup_steps`` (0-d, on the device)."""
        if not self.kl_warmup_steps:
            return torch.full((), self.beta, device=self.device)
        return self.beta * (self.steps / self.kl_warmup_steps).clamp(max=1.0)

    def train_step(self, batch: torch.Tensor, amp: Amp) -> dict[str, torch.Tensor]:
        x = normalize(batch, "unit")  # (B, C, H, W) in [0, 1]
        log_px, kl = self._terms(x, amp)
        kl = kl.sum(1)  # (B,)
        weight = self.kl_weight()
        loss = (kl * weight - log_px).mean()
        stats = {"train/loss": loss.detach(), "train/recon_nll": -log_px.mean().detach(),
                 "train/kl": kl.mean().detach(), "train/kl_weight": weight}  # fmt: skip
        amp.backward(loss)
        amp.step(self.optimizers["optimizer"])
        self.steps.add_(1)
        return stats

    @torch.no_grad()
    def validate(self, batches: Iterable[torch.Tensor], amp: Amp) -> dict[str, float]:
        """-ELBO and its terms (nats per image), the objective at the full KL weight, and
        the MSE of the decoder's mean at the posterior mean."""
        sums = torch.zeros(4, dtype=torch.float64, device=self.device)  # recon, kl, mse, n
        kl_per_dim = torch.zeros(self.latent_dim, dtype=torch.float64, device=self.device)
        for batch in batches:
            x = normalize(batch, "unit")
            log_px, kl = self._terms(x, amp)
            mse = (self.reconstruct(x) - x).square().flatten(1).mean(1)
            count = torch.full((), float(len(x)), device=x.device)
            sums += torch.stack([-log_px.sum(), kl.sum(), mse.sum(), count]).double()
            kl_per_dim += kl.sum(0).double()
        self.kl_per_dim = (kl_per_dim / sums[3]).float().cpu()  # nats per image
        recon, kl, mse, _ = (sums / sums[3]).tolist()
        return {"val/loss": recon + self.beta * kl, "val/neg_elbo": recon + kl,
                "val/recon_nll": recon, "val/kl": kl, "val/mse": mse}  # fmt: skip

    # ---- what the metrics and a notebook call ---------------------------------------

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> the posterior means (B, latent_dim)."""
        return self.net.encode(taken_images(self, "encode", x))[0].float()

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim) -> the decoder's mean image in [0, 1]."""
        return torch.sigmoid(self.net.decode_logits(taken_codes(self, "decode", z)).float())

    @torch.no_grad()
    def kl_per_dimension(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> the KL of q(z|x) from the prior in each latent
        dimension, nats per image averaged over the images: (latent_dim,)."""
        mean, logvar = self.net.encode(taken_images(self, "kl_per_dimension", x))
        return gaussian_kl(mean.float(), logvar.float()).mean(0)

    @torch.no_grad()
    def elbo_terms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(-E_q log p(x|z) estimated with one z, KL) per image (B,) each, fp32."""
        log_px, kl = self._terms(taken_images(self, "elbo_terms", x))
        return -log_px, kl.sum(1)

    @torch.no_grad()
    def log_importance_weights(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """log p(x, z_i) - log q(z_i | x) for k draws z_i ~ q(z|x) per image: (B, k), float64.
        logsumexp over k minus log k is the bound of Burda et al. (2016)."""
        x = taken_images(self, "log_importance_weights", x)
        k = integer("k", k, low=1, meaning="the draws per image must be a positive integer")
        # the decoder's logits of all B * k draws are held at once: refused, not allocated
        check_fits(f"k={k} for {len(x)} images", len(x) * k, tuple(x.shape[1:]), x.device)
        mean, logvar = (t.float() for t in self.net.encode(x))  # (B, D)
        std = torch.exp(0.5 * logvar)
        eps = torch.randn(x.shape[0], k, self.latent_dim, device=x.device)  # (B, k, D)
        z = mean[:, None] + eps * std[:, None]
        logits = self.net.decode_logits(z.flatten(0, 1)).float().contiguous()  # (B * k, C, H, W)
        log_px = self._log_likelihoods(logits.view(x.shape[0], k, -1), x.flatten(1))
        log_pz = -0.5 * (z.square() + LOG_2PI).sum(2)
        log_qz = -0.5 * (eps.square() + LOG_2PI + logvar[:, None]).sum(2)
        return log_px.double() + log_pz.double() - log_qz.double()

    # ---- pictures and checkpoints ---------------------------------------------------

    @torch.no_grad()
    def log_epoch(self, logger, data, step: int) -> None:
        """Validation images over their reconstructions; decoded prior samples; an 8x8
        traversal of the two most used latent dimensions (a row of 8 for a code of one),
        under one tag whichever they are (the Text tab names them each epoch); the KL per
        dimension."""
        x = normalize(data.fixed_images(16), "unit")
        logger.image_grid("val/reconstructions", torch.cat([x, self.reconstruct(x)]), step)
        logger.image_grid("samples/prior", self.generate(self.fixed_noise), step)
        if self.kl_per_dim is None:
            return
        values = torch.linspace(-2.5, 2.5, 8)
        if self.latent_dim == 1:  # one row
            z, named = values[:, None], "columns: z0"
        else:
            first, second = self.kl_per_dim.topk(2).indices.tolist()
            z = torch.zeros(64, self.latent_dim)
            z[:, first] = values.repeat_interleave(8)  # rows
            z[:, second] = values.repeat(8)  # columns
            named = f"rows: z{first}, columns: z{second}"
        logger.image_grid("samples/traversal", self.generate(z), step)
        logger.text("samples/traversal", named, step)
        logger.histogram("val/kl_per_dim", self.kl_per_dim, step)

    def extra_state(self) -> dict[str, Any]:
        return {"steps": int(self.steps.item()), "fixed_noise": self.fixed_noise.cpu()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.steps.fill_(int(state["steps"]))
        self.fixed_noise = state["fixed_noise"].to(self.device)

    def tutorial_step(self, next_batch: Callable[[], tuple]) -> Callable[[], None]:
        """This VAE trained as a tutorial writes it: a DataLoader batch of ToTensor floats,
        fp32, eager, ``torch.optim.Adam()``, Bernoulli loss (``aegan.bench``)."""
        optimizer = torch.optim.Adam(self.net.parameters())

        def step() -> None:
            x, _ = next_batch()
            x = x.to(self.device)
            mean, logvar = self.net.encode(x)
            z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
            logits = self.net.decode_logits(z)
            recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
            kl = -0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp()) / len(x)
            optimizer.zero_grad()
            (recon + kl).backward()
            optimizer.step()

        return step
