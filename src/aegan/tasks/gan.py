"""The GAN task: per batch a discriminator step then a generator step (DCGAN, Radford et al.
2015), with the losses of ``aegan.losses`` (D's penalties and how its logits read:
``aegan.tasks.gan_discriminator``), an EMA copy of the generator for samples, and a cheap
Frechet distance on pooled pixels as the validation objective.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn

from aegan.amp import Amp
from aegan.contract import Task
from aegan.data import denormalize, normalize
from aegan.losses import get_gan_loss
from aegan.tasks.adversarial import (
    pixel_fd,
    pooled_pixels,
    set_requires_grad,
    step_with_grad_norm,
    write_sample_png,
)
from aegan.tasks.build import build_network, build_optimizer
from aegan.tasks.checks import MAX_CODE, MAX_FD_SAMPLES, MAX_NOISE_SEED, check_bool, check_number
from aegan.tasks.ema import ExponentialMovingAverage
from aegan.tasks.gan_discriminator import LogitReadout, penalized_logits
from aegan.tasks.inputs import taken_codes
from aegan.tasks.latents import SAMPLE_BATCH, PriorSamples
from aegan.tasks.tied import check_read_by

MAX_GRID = 1024  # model.num_fixed_noise: a 32x32 grid of samples


class GanTask(PriorSamples, Task):
    """Train a generator against a discriminator; the objective is ``val/pixel_fd``.

    Per batch: draw z, run the generator once, take a D step on ``fake.detach()`` and then
    (every ``n_critic``-th batch) a G step on D(fake) with the updated D, as pytorch/examples'
    DCGAN does. Step scalars: ``train/d_loss`` (penalties apart, unweighted), ``train/g_loss``
    (on batches without a G step: the G loss of that batch's fakes before D's update),
    ``train/d_real`` / ``train/d_fake`` (mean D(x), D(G(z)): probabilities for ``ns``, raw
    outputs otherwise), ``train/d_accuracy`` (reals above and fakes below the decision
    threshold), ``train/d_grad_norm`` / ``train/g_grad_norm`` (unscaled),
    ``train/gradient_penalty`` (wgan_gp), ``train/r1_penalty`` (r1_gamma > 0).
    """

    objective = "val/pixel_fd"
    metrics = ("classifier", "fd", "kid", "prdc", "classes")
    discriminator_calls: tuple[str, ...] = ("forward",)  # what a step calls on D
    latent_set_by = "model.latent_dim"  # the setting that sizes the generator's input

    def __init__(
        self,
        *,
        image_shape: Sequence[int],
        device: torch.device | str = "cpu",
        name: str = "dcgan",
        generator: dict,
        discriminator: dict,
        g_optimizer: dict,
        d_optimizer: dict,
        latent_dim: int = 100,
        loss: str = "ns",
        gp_weight: float = 10.0,
        n_critic: int = 1,
        r1_gamma: float = 0.0,
        spectral_norm: bool = False,  # read by the discriminator's config: ${..spectral_norm}
        ema_decay: float | None = 0.999,
        noise_seed: int = 0,
        fd_samples: int = 2000,
        num_fixed_noise: int = 64,
    ) -> None:
        self.loss = get_gan_loss(loss)
        check_number("model.n_critic", n_critic, low=1, high=1000, integer=True)
        check_number("model.r1_gamma", r1_gamma, low=0, high=1e6)
        check_number("model.gp_weight", gp_weight, low=0, high=1e6)
        check_number("model.ema_decay", ema_decay or 0.0, low=0, high=1, high_open=True)
        check_number("model.fd_samples", fd_samples, low=2, high=MAX_FD_SAMPLES, integer=True)
        check_number("model.noise_seed", noise_seed, low=0, high=MAX_NOISE_SEED, integer=True)
        check_number("model.latent_dim", latent_dim, low=1, high=MAX_CODE, integer=True)
        check_bool("model.spectral_norm", spectral_norm)
        if spectral_norm or "spectral_norm" in discriminator:  # a D that ignores it: refused
            check_read_by(
                "model.spectral_norm", spectral_norm, "model.discriminator", discriminator,
                "spectral_norm",
            )  # fmt: skip
        # drawn at once, shown as one grid each epoch: at least one image, not a huge tensor
        check_number("model.num_fixed_noise", num_fixed_noise, low=1, high=MAX_GRID, integer=True)
        self.latent_dim = int(latent_dim)
        self.generator = build_network(
            "model.generator", generator, require=("forward",),
            set_by={"latent_dim": self.latent_set_by}, image_shape=image_shape,
            latent_dim=self.latent_dim,
        ).to(device)  # fmt: skip
        self.discriminator = build_network(
            "model.discriminator", discriminator, require=self.discriminator_calls,
            image_shape=image_shape, **self.discriminator_sizes(),
        ).to(device)  # fmt: skip
        self.name, self.device, self.image_shape = name, torch.device(device), tuple(image_shape)
        self.gp_weight = float(gp_weight) if self.loss.name == "wgan_gp" else 0.0
        if self.loss.name != "wgan_gp":
            self.inert = {"model.gp_weight": f"model.loss={self.loss.name} has no gradient penalty"}
        self.n_critic, self.r1_gamma = int(n_critic), float(r1_gamma)
        self.readout = LogitReadout(self.loss, self.device)
        self.networks: dict[str, nn.Module] = {
            "generator": self.generator, "discriminator": self.discriminator,
        }  # fmt: skip
        # the parameter objects are fixed from here on (channels_last and checkpoints change
        # their data in place); a step reads these lists, not the module trees
        self.g_params = list(self.generator.parameters())
        self.d_params = list(self.discriminator.parameters())
        self.optimizers = {
            "generator": build_optimizer("model.g_optimizer", g_optimizer, self.g_params),
            "discriminator": build_optimizer("model.d_optimizer", d_optimizer, self.d_params),
        }
        self.ema: ExponentialMovingAverage | None = None
        if ema_decay:
            self.ema = ExponentialMovingAverage(self.generator, float(ema_decay))
            self.networks["generator_ema"] = self.ema.network

        noise = torch.Generator().manual_seed(noise_seed)
        # (num_fixed_noise, latent_dim), saved in extra_state: a resume draws the same grid
        self.fixed_noise = self.draw_latents(num_fixed_noise, noise).to(self.device)
        self.val_noise_seed, self.fd_samples = noise_seed + 1, fd_samples
        self.iteration = 0  # batches seen, counted only where n_critic > 1 needs it
        self.epoch = 0  # log_epoch calls: names the sample PNGs
        self._last_g_grad_norm = torch.zeros((), device=self.device)

        self.limits = {
            "compile_scope=step": "its generator output is back-propagated twice (D step, then G step)"
        }
        if self.n_critic > 1:
            self.limits["capture_step"] = (
                "model.n_critic > 1 alternates steps with and without a G update"
            )
        elif self.r1_gamma or self.gp_weight:
            self.limits["capture_step"] = (
                "its gradient penalties (r1_gamma, wgan_gp) are not captured"
            )

    def discriminator_sizes(self) -> dict[str, Any]:
        """The sizes D gets from the task's settings, beyond the image shape."""
        return {}

    # ---- training -------------------------------------------------------------------

    def train_step(self, batch: torch.Tensor, amp: Amp) -> dict[str, torch.Tensor]:
        """D step on (x, G(z).detach()), then G step on D(G(z)) every n_critic-th batch."""
        x = normalize(batch, "symmetric")  # (B, C, H, W) in [-1, 1]
        g_step = self.n_critic == 1 or (self.iteration + 1) % self.n_critic == 0
        if self.n_critic > 1:
            self.iteration += 1

        z = self.draw_latents(x.shape[0], device=x.device)  # (B, latent_dim)
        with amp.autocast(), torch.set_grad_enabled(g_step):
            fake = self.generator(z)  # (B, C, H, W) in [-1, 1]; one forward for both steps

        # D step (G gets no gradient before its own step: the D step sees fake.detach())
        real_logits, fake_logits, heads, d_penalties, stats = penalized_logits(
            self.discriminator, x, fake, amp, r1_gamma=self.r1_gamma, gp_weight=self.gp_weight,
            outputs=self.discriminator_outputs,
        )  # fmt: skip
        d_loss, d_real, d_fake, d_correct = self.readout.objective(real_logits, fake_logits)
        head_loss, head_stats = self.head_loss(heads, z)
        amp.backward(sum(d_penalties, d_loss) + head_loss)
        d_grad_norm = step_with_grad_norm(amp, self.optimizers["discriminator"], self.d_params)

        if g_step:  # against the updated D; gradients reach G only
            set_requires_grad(self.d_params, False)
            with amp.autocast():
                g_logits, *heads = self.discriminator_outputs(fake)  # (B,), heads (B, ...)
            g_loss = self.loss.generator(g_logits)
            head_loss, head_stats = self.head_loss(heads, z)
            amp.backward(g_loss + head_loss)
            set_requires_grad(self.d_params, True)
            g_optimizer = self.optimizers["generator"]
            self._last_g_grad_norm = step_with_grad_norm(amp, g_optimizer, self.g_params)
            if self.ema is not None:
                self.ema.update(self.generator)
        else:  # a D-only batch: the G-side figures of its fakes before D's update
            g_loss = self.loss.generator(fake_logits.detach())
        stats.update({"train/d_loss": d_loss.detach(), "train/g_loss": g_loss.detach(),
                      "train/d_real": d_real, "train/d_fake": d_fake, "train/d_accuracy": d_correct,
                      "train/d_grad_norm": d_grad_norm, "train/g_grad_norm": self._last_g_grad_norm,
                      **head_stats})  # fmt: skip
        return stats

    def discriminator_outputs(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """D on ``images``: (logits (N,), *what its other heads read); InfoGAN's Q adds two."""
        return (self.discriminator(images),)

    def head_loss(self, heads, z) -> tuple[torch.Tensor | float, dict[str, torch.Tensor]]:
        """The weighted loss D's other ``heads`` on the fakes made from ``z`` add to D's and
        G's, and its step scalars: none here (InfoGAN's mutual-information term)."""
        return 0.0, {}

    def tutorial_step(self, next_batch: Callable[[], tuple]) -> Callable[[], None]:
        """These networks trained as pytorch/examples' DCGAN does: a DataLoader batch of
        ToTensor floats, fp32, eager, default Adams, BCE on logits (``aegan.bench``)."""
        g_opt = torch.optim.Adam(self.generator.parameters())
        d_opt = torch.optim.Adam(self.discriminator.parameters())
        bce = nn.BCEWithLogitsLoss()

        def step() -> None:
            x, _ = next_batch()
            x = x.to(self.device) * 2 - 1
            fake = self.generator(torch.randn(x.shape[0], self.latent_dim, device=self.device))
            d_opt.zero_grad()
            real_logits, fake_logits = self.discriminator(x), self.discriminator(fake.detach())
            d_loss = bce(real_logits, torch.ones_like(real_logits)) + bce(
                fake_logits, torch.zeros_like(fake_logits)
            )
            d_loss.backward()
            d_opt.step()
            g_opt.zero_grad()
            fake_logits = self.discriminator(fake)
            bce(fake_logits, torch.ones_like(fake_logits)).backward()
            g_opt.step()

        return step

    # ---- samples: what a notebook and the metrics call ---------------------------------

    @torch.no_grad()
    def generate(
        self, z: torch.Tensor, *, ema: bool = True, amp: Amp | None = None
    ) -> torch.Tensor:
        """Latents (N, latent_dim) -> images in [0, 1] (N, C, H, W), from the EMA generator
        (``ema=False``: the trained one), SAMPLE_BATCH at a time; fp32 unless ``amp``."""
        if not isinstance(ema, bool):  # ema="no" picked the EMA generator without a word
            raise ValueError(f"ema={ema!r:.40}: {type(self).__name__}.generate takes True or False")
        network = self.ema.network if ema and self.ema is not None else self.generator
        out = []
        for chunk in self.taken_latents(z).split(SAMPLE_BATCH):
            with amp.autocast() if amp is not None else contextlib.nullcontext():
                images = network(chunk)  # (b, C, H, W) in [-1, 1]
            out.append(denormalize(images.float(), "symmetric"))
        return torch.cat(out)

    def taken_latents(self, z: object) -> torch.Tensor:
        """``generate``'s ``z``, checked: codes (N, latent_dim), as float32 on the device."""
        return taken_codes(self, "generate", z)

    # ---- validation and pictures ----------------------------------------------------

    @torch.no_grad()
    def validate(self, batches: Iterable[torch.Tensor], amp: Amp) -> dict[str, float]:
        """``val/pixel_fd``: Frechet distance between ``fd_samples`` samples (the same seeded
        noise every epoch) and the validation images, in pooled pixels (the objective); D's
        accuracy on validation images and on those samples."""
        real_features, real_logits = [], []
        for batch in batches:
            real_features.append(pooled_pixels(normalize(batch, "unit")).cpu())
            real_logits.append(self._logits(normalize(batch, "symmetric"), amp))
        noise = torch.Generator().manual_seed(self.val_noise_seed)
        fakes = self.generate(self.draw_latents(self.fd_samples, noise), amp=amp)  # (N, C, H, W)
        fake_logits = torch.cat([self._logits(c * 2 - 1, amp) for c in fakes.split(SAMPLE_BATCH)])
        accuracies = self.readout.accuracies(torch.cat(real_logits), fake_logits)
        return {"val/pixel_fd": pixel_fd(fakes, real_features), **accuracies}

    def _logits(self, x: torch.Tensor, amp: Amp) -> torch.Tensor:
        with amp.autocast():
            return self.discriminator(x).float().cpu()

    @torch.no_grad()
    def log_epoch(self, logger, data, step: int) -> None:
        """Fixed-noise grids (8x8) of the generator and its EMA; the sampler's also as
        ``RUN_DIR/samples/epoch-XXXX.png`` (the run dir is the parent of ``logger.log_dir``)."""
        self.epoch += 1
        png = logger.image_grid(
            "samples/generator", self.generate(self.fixed_noise, ema=False), step
        )
        if self.ema is not None:
            png = logger.image_grid("samples/generator_ema", self.generate(self.fixed_noise), step)
        write_sample_png(logger, self.epoch, png)

    # ---- checkpoints ----------------------------------------------------------------

    def extra_state(self) -> dict[str, Any]:
        return {
            "fixed_noise": self.fixed_noise.cpu(),
            "iteration": self.iteration,
            "ema_updates": self.ema.updates() if self.ema is not None else 0,
            "epoch": self.epoch,
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.fixed_noise = state["fixed_noise"].to(self.device)
        self.iteration = int(state["iteration"])
        if self.ema is not None:
            self.ema.set_updates(int(state["ema_updates"]))
        self.epoch = int(state["epoch"])
