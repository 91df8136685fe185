"""The GAN task: per batch a discriminator step then a generator step (DCGAN, Radford et al.
2015), with the losses and penalties of ``aegan.losses``, an EMA copy of the generator for
samples, and a cheap Frechet distance as the validation objective (lower is better).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from itertools import chain
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from aegan.data import ImageData, denormalize, normalized_batches
from aegan.engine.amp import Amp, ConfigError
from aegan.engine.speed import NetworkWrapper
from aegan.logger import TensorBoardLogger
from aegan.losses import get_gan_loss, gradient_penalty, r1_penalty
from aegan.metrics import frechet_distance
from aegan.tasks.base import Task

FEATURE_SIZE = 7  # pooled_pixels: 7x7 per channel (49-d grey, 147-d RGB)
SAMPLE_BATCH = 500  # generator samples per forward in validate / evaluate

FeatureFn = Callable[[torch.Tensor], torch.Tensor]


def pooled_pixels(images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] (B, C, H, W) -> (B, C*7*7) average-pooled pixels.

    A cheap stand-in for Inception features: enough to tell blobs from garments, not
    sharpness. Pass ``feature_fn`` to ``GanTask`` for a domain classifier's features.
    """
    return F.adaptive_avg_pool2d(images.float(), FEATURE_SIZE).flatten(1)


def grad_norm(params: list[nn.Parameter]) -> torch.Tensor:
    """L2 norm of the gradients of ``params`` as a 0-d device tensor (no host sync)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros((), device=params[0].device)
    return torch.nn.utils.get_total_norm(grads).detach()


def ema_update_(
    ema: list[torch.Tensor], live: list[torch.Tensor], clock: torch.Tensor, max_decay: float
) -> None:
    """ema <- decay * ema + (1 - decay) * live, in place, with decay = min(max_decay,
    (1 + t) / (10 + t)) at t = ``clock`` (0-d, on the device); then ``clock`` += 1."""
    decay = ((1 + clock) / (10 + clock)).clamp(max=max_decay)  # 0-d, on the device
    torch._foreach_mul_(ema, decay)
    torch._foreach_add_(ema, torch._foreach_mul(live, 1 - decay))
    clock.add_(1)


def set_requires_grad(params: list[nn.Parameter], requires_grad: bool) -> None:
    """``Module.requires_grad_(requires_grad)`` over a parameter list made once (walking the
    module tree on every step costs more host time than a dozen kernel launches)."""
    for param in params:
        param.requires_grad_(requires_grad)


class GanTask(Task):
    """Train a generator against a discriminator; the objective is ``val/fd``.

    Per batch: draw z, run the generator once, take a D step on ``fake.detach()`` and then
    (every ``n_critic``-th batch) a G step on D(fake) with the updated D, as
    pytorch/examples' DCGAN does. Step scalars:

    - ``train/d_loss``: the adversarial D loss (penalties reported apart, unweighted);
    - ``train/g_loss``: the G loss; on batches without a G step, the G loss of that batch's
      fakes against D before its update (so the mean over a window stays comparable);
    - ``train/d_real`` / ``train/d_fake``: mean D(x) and D(G(z)) as probabilities
      (sigmoid of the logit) for ``ns``, as raw outputs for lsgan / wgan_gp / hinge;
    - ``train/d_accuracy``: fraction of reals scored above and fakes below the decision
      threshold (logit 0; 0.5 for lsgan, whose targets are 0 and 1);
    - ``train/d_grad_norm`` / ``train/g_grad_norm``: unscaled gradient norms (the latter is
      the last G step's on batches without one);
    - ``train/gradient_penalty`` (wgan_gp), ``train/r1_penalty`` (r1_gamma > 0).
    """

    objective = "val/fd"
    pixel_range = "symmetric"
    step_compile_unsupported = "its generator output is back-propagated twice (D step, then G step)"

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        g_optimizer: Callable[..., torch.optim.Optimizer],
        d_optimizer: Callable[..., torch.optim.Optimizer],
        *,
        loss: str = "ns",
        gp_weight: float = 10.0,
        n_critic: int = 1,
        r1_gamma: float = 0.0,
        ema_decay: float | None = 0.999,
        num_fixed_noise: int = 64,
        noise_seed: int = 0,
        fd_samples: int = 2000,
        feature_fn: FeatureFn | None = None,
    ) -> None:
        try:
            self.loss = get_gan_loss(loss)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        if int(n_critic) < 1:
            raise ConfigError(f"model.n_critic={n_critic} must be an integer >= 1")
        if r1_gamma < 0 or gp_weight < 0:
            raise ConfigError(
                f"model.r1_gamma={r1_gamma} and model.gp_weight={gp_weight} must be >= 0"
            )
        if ema_decay and not 0.0 < ema_decay < 1.0:
            raise ConfigError(f"model.ema_decay={ema_decay} must be in (0, 1), or 0 / null: off")
        self.generator, self.discriminator = generator, discriminator
        # the networks the training forward passes go through: DDP-wrapped under torchrun,
        # compiled with trainer.compile (see ``wrap_networks``); D's in the G step without DDP
        self.forward_generator, self.forward_discriminator = generator, discriminator
        self.frozen_discriminator = discriminator
        self.latent_dim: int = generator.latent_dim
        self.device = next(generator.parameters()).device
        self.gp_weight = gp_weight if self.loss.name == "wgan_gp" else 0.0
        self.n_critic, self.r1_gamma = int(n_critic), float(r1_gamma)
        self.threshold = 0.5 if self.loss.name == "lsgan" else 0.0
        self.modules: dict[str, nn.Module] = {
            "generator": generator,
            "discriminator": discriminator,
        }
        # the parameter objects are fixed from here on (channels_last, checkpoints and DDP
        # change their data in place); a step reads these lists, not the module trees
        self.g_params = list(generator.parameters())
        self.d_params = list(discriminator.parameters())
        self.optimizers = {
            "generator": g_optimizer(self.g_params),
            "discriminator": d_optimizer(self.d_params),
        }

        self.ema_decay = float(ema_decay or 0.0)
        self.generator_ema: AveragedModel | None = None
        if self.ema_decay:
            # starts as a copy of the generator; the state goes into checkpoints as a module
            self.generator_ema = AveragedModel(
                generator, multi_avg_fn=get_ema_multi_avg_fn(self.ema_decay), use_buffers=True
            ).requires_grad_(False)
            self.modules["generator_ema"] = self.generator_ema

        noise = torch.Generator().manual_seed(noise_seed)
        self.fixed_noise = torch.randn(num_fixed_noise, self.latent_dim, generator=noise).to(
            self.device
        )  # (64, latent_dim), saved in extra_state so a resume draws the same grid
        self.val_noise_seed = noise_seed + 1
        self.fd_samples = fd_samples
        self.feature_fn: FeatureFn = feature_fn or pooled_pixels

        # Python counters (no host sync), saved in extra_state
        self.iteration = 0  # D steps done
        self.ema_updates = 0
        # ema_updates on the device, for the decay ramp (a CUDA graph replays device work only)
        self.ema_clock = torch.zeros((), device=self.device)
        self.epoch = 0  # log_epoch calls: names the sample PNGs
        self._last_g_grad_norm = torch.zeros((), device=self.device)
        # +1 for reals, -1 for fakes: (logits - threshold) * sign > 0 when D is right
        self._real_fake_sign = torch.tensor([[1.0], [-1.0]], device=self.device)  # (2, 1)
        self._ema_tensors: tuple[list[torch.Tensor], ...] | None = None  # see _update_ema
        # the step's arithmetic outside the networks; compiled by ``wrap_networks`` (not
        # grad_norm: one fused kernel eager, compiled it splits into a reduction per tensor)
        self.discriminator_objective = self._discriminator_objective
        self.generator_loss = self.loss.generator
        self.ema_update_ = ema_update_

    # ---- training -------------------------------------------------------------------

    def train_step(self, x: torch.Tensor, amp: Amp) -> dict[str, torch.Tensor]:
        """D step on (x, G(z).detach()), then G step on D(G(z)) every n_critic-th batch."""
        generator, discriminator = self.forward_generator, self.forward_discriminator
        d_optimizer, g_optimizer = self.optimizers["discriminator"], self.optimizers["generator"]
        batch_size = x.shape[0]
        g_step = (self.iteration + 1) % self.n_critic == 0
        self.iteration += 1

        z = torch.randn(batch_size, self.latent_dim, device=x.device)  # (B, latent_dim)
        with amp.autocast(), torch.set_grad_enabled(g_step):
            fake = generator(z)  # (B, C, H, W) in [-1, 1]; one forward for both steps

        # D step (G gets no gradient before its own step: the D step sees fake.detach())
        self.zero_grads()
        stats: dict[str, torch.Tensor] = {}
        if self.r1_gamma:
            # the real forward in fp32, so that R1's input gradient is fp32 too
            real = x.detach().requires_grad_(True)
            with amp.autocast():
                fake_logits = discriminator(fake.detach())  # (B,)
            with torch.autocast(device_type=x.device.type, enabled=False):
                # the plain D: R1's double backward does not run through compiled graphs
                real_logits = self.discriminator(real)  # (B,)
            penalty = r1_penalty(real_logits, real)
            stats["train/r1_penalty"] = penalty.detach()
            d_penalties = [0.5 * self.r1_gamma * penalty]
        else:
            with amp.autocast():  # D has no batch norm: one forward over reals and fakes
                logits = discriminator(torch.cat([x, fake.detach()]))  # (2B,)
            real_logits, fake_logits = logits[:batch_size], logits[batch_size:]
            d_penalties = []
        if self.gp_weight:
            penalty = gradient_penalty(self.discriminator, x, fake)  # fp32, autocast off inside
            stats["train/gradient_penalty"] = penalty.detach()
            d_penalties.append(self.gp_weight * penalty)
        d_loss, d_real, d_fake, d_correct = self.discriminator_objective(real_logits, fake_logits)
        amp.backward(sum(d_penalties, d_loss))
        amp.unscale_(d_optimizer)
        d_grad_norm = grad_norm(self.d_params)
        amp.step(d_optimizer)

        # G step, against the updated D
        if g_step:
            # gradients reach G only; D without DDP, so DDP reduces no D gradients here
            set_requires_grad(self.d_params, False)
            with amp.autocast():
                g_logits = self.frozen_discriminator(fake)  # (B,)
            g_loss = self.generator_loss(g_logits)
            amp.backward(g_loss)
            set_requires_grad(self.d_params, True)
            amp.unscale_(g_optimizer)
            self._last_g_grad_norm = grad_norm(self.g_params)
            amp.step(g_optimizer)
            self._update_ema()
        else:
            g_loss = self.generator_loss(fake_logits.detach())

        stats.update(
            {
                "train/d_loss": d_loss.detach(),
                "train/g_loss": g_loss.detach(),
                "train/d_real": d_real,
                "train/d_fake": d_fake,
                "train/d_accuracy": d_correct,  # over reals and fakes alike (B each)
                "train/d_grad_norm": d_grad_norm,
                "train/g_grad_norm": self._last_g_grad_norm,
            }
        )
        return stats

    def _discriminator_objective(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """Logits (B,) of reals and fakes -> the D loss (fp32, differentiable) and D's
        detached mean scores on reals and fakes and its accuracy over both (0-d each)."""
        d_loss = self.loss.discriminator(real_logits, fake_logits)
        scores = torch.stack([real_logits.detach(), fake_logits.detach()]).float()  # (2, B)
        d_correct = ((scores - self.threshold) * self._real_fake_sign > 0).float().mean()
        if self.loss.name == "ns":  # as probabilities
            scores = scores.sigmoid()
        d_real, d_fake = scores.mean(dim=1).unbind()
        return d_loss, d_real, d_fake, d_correct

    def wrap_networks(self, wrap: NetworkWrapper) -> None:
        if self.r1_gamma and wrap.distributed:
            raise ConfigError(
                "model.r1_gamma > 0 is not supported under torchrun yet; use r1_gamma=0"
            )
        self.forward_generator = wrap(self.generator)
        self.forward_discriminator = wrap(self.discriminator)
        self.frozen_discriminator = wrap(self.discriminator, sync_gradients=False)
        self.discriminator_objective = wrap.function(self._discriminator_objective)
        self.generator_loss = wrap.function(self.loss.generator)
        self.ema_update_ = wrap.function(ema_update_)

    @torch.no_grad()
    def _update_ema(self) -> None:
        """generator_ema <- decay * generator_ema + (1 - decay) * generator, buffers included.

        The decay ramps up as min(ema_decay, (1 + t) / (10 + t)) over the EMA updates t
        (TensorFlow's ExponentialMovingAverage rule), so that a short run's EMA is not
        mostly the random init (0.999^860 = 0.42 after one Fashion-MNIST epoch). It is
        computed on the device from ``ema_clock``, so that a captured step
        (``trainer.capture_step``) ramps it too. Done here rather than by
        ``AveragedModel.update_parameters``, which has no ramp and reads or copies its
        counter tensor ``n_averaged`` every call (a host sync on CUDA); the
        ``AveragedModel`` still holds the copy.
        """
        if self.generator_ema is None:
            return
        if self._ema_tensors is None:  # on the first update: after channels_last and restore
            ema_net, live_net = self.generator_ema.module, self.generator
            pairs = zip(
                chain(ema_net.parameters(), ema_net.buffers()),
                chain(live_net.parameters(), live_net.buffers()),
                strict=True,
            )
            averaged, copied = [], []
            for ema, live in pairs:  # num_batches_tracked is copied, not averaged
                (averaged if ema.is_floating_point() else copied).append((ema, live))
            self._ema_tensors = (
                [ema for ema, _ in averaged], [live for _, live in averaged],
                [ema for ema, _ in copied], [live for _, live in copied],
            )  # fmt: skip
        ema_averaged, live_averaged, ema_copied, live_copied = self._ema_tensors
        self.ema_update_(ema_averaged, live_averaged, self.ema_clock, self.ema_decay)
        if ema_copied:
            torch._foreach_copy_(ema_copied, live_copied)
        self._count_ema_update()

    def _count_ema_update(self) -> None:
        self.generator_ema.n_averaged += 1  # a CPU tensor: no sync
        self.ema_updates += 1

    @classmethod
    def step_capture_unsupported(cls, model_cfg: Any) -> str | None:
        if int(model_cfg.n_critic) != 1:
            return "model.n_critic > 1 alternates steps with and without a G update"
        if model_cfg.r1_gamma or model_cfg.loss == "wgan_gp":
            return "its gradient penalties (r1_gamma, wgan_gp) are not captured yet"
        return None

    def after_replay(self) -> None:
        self.iteration += 1
        if self.generator_ema is not None:
            self._count_ema_update()

    def train(self, mode: bool = True) -> None:
        super().train(mode)
        if self.generator_ema is not None:
            self.generator_ema.eval()  # only ever sampled

    # ---- samples and metrics --------------------------------------------------------

    @property
    def sampler(self) -> nn.Module:
        """The network that makes samples: the EMA generator when there is one."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    @torch.no_grad()
    def sample(self, z: torch.Tensor, amp: Amp | None = None, *, ema: bool = True) -> torch.Tensor:
        """Images in [0, 1] (B, C, H, W) for latents z (B, latent_dim), SAMPLE_BATCH at a time."""
        net = self.sampler if ema else self.generator
        autocast = amp.autocast if amp is not None else contextlib.nullcontext
        out = []
        for chunk in z.split(SAMPLE_BATCH):
            with autocast():
                images = net(chunk.to(self.device))  # (b, C, H, W) in [-1, 1]
            out.append(denormalize(images.float(), self.pixel_range))
        return torch.cat(out)

    def _features(self, images01: torch.Tensor) -> torch.Tensor:
        return self.feature_fn(images01).float().cpu()

    @torch.no_grad()
    def _fake_statistics(self, amp: Amp) -> tuple[torch.Tensor, torch.Tensor]:
        """Features of ``fd_samples`` samples from seeded noise (the same every epoch), and
        D's logits on them."""
        noise = torch.Generator().manual_seed(self.val_noise_seed)
        z = torch.randn(self.fd_samples, self.latent_dim, generator=noise)
        images = self.sample(z, amp)  # (N, C, H, W) in [0, 1]
        features = torch.cat([self._features(chunk) for chunk in images.split(SAMPLE_BATCH)])
        logits = torch.cat(
            [self._logits(chunk * 2 - 1, amp) for chunk in images.split(SAMPLE_BATCH)]
        )
        return features, logits

    def _logits(self, x: torch.Tensor, amp: Amp) -> torch.Tensor:
        with amp.autocast():
            return self.discriminator(x).float().cpu()

    @torch.no_grad()
    def _compare(self, batches: Iterable[torch.Tensor], amp: Amp, prefix: str) -> dict[str, float]:
        """FD between sampler images and the real ``batches`` (in [-1, 1]); D's accuracies."""
        real_features, real_logits = [], []
        for x in batches:
            real_features.append(self._features(denormalize(x, self.pixel_range)))
            real_logits.append(self._logits(x, amp))
        if not real_features:
            return {f"{prefix}/fd": float("nan")}
        fake_features, fake_logits = self._fake_statistics(amp)
        real_logits = torch.cat(real_logits)
        return {
            f"{prefix}/fd": frechet_distance(fake_features, torch.cat(real_features)),
            f"{prefix}/d_real_accuracy": (real_logits > self.threshold).float().mean().item(),
            f"{prefix}/d_fake_accuracy": (fake_logits < self.threshold).float().mean().item(),
        }

    @torch.no_grad()
    def validate(self, batches: Iterable[torch.Tensor], amp: Amp) -> dict[str, float]:
        """``val/fd`` of the sampler's images against the validation images (objective);
        D's accuracy on validation images and on those samples."""
        return self._compare(batches, amp, "val")

    @torch.no_grad()
    def evaluate(self, data: ImageData, amp: Amp) -> dict[str, float]:
        batches = normalized_batches(data.test_images, SAMPLE_BATCH, self.pixel_range)
        return self._compare(batches, amp, "test")

    @torch.no_grad()
    def log_epoch(self, logger: TensorBoardLogger, step: int) -> None:
        """Fixed-noise grids (8x8) of the generator and its EMA; the sampler's also as
        ``RUN_DIR/samples/epoch-XXXX.png`` (the run dir is the parent of ``logger.log_dir``)."""
        self.epoch += 1
        png = logger.image_grid("samples/generator", self.sample(self.fixed_noise, ema=False), step)
        if self.generator_ema is not None:
            png = logger.image_grid("samples/generator_ema", self.sample(self.fixed_noise), step)
        path = Path(logger.log_dir).parent / "samples" / f"epoch-{self.epoch:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)

    # ---- checkpoints ----------------------------------------------------------------

    def extra_state(self) -> dict[str, Any]:
        return {
            "fixed_noise": self.fixed_noise.cpu(),
            "iteration": self.iteration,
            "ema_updates": self.ema_updates,
            "epoch": self.epoch,
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.fixed_noise = state["fixed_noise"].to(self.device)
        self.iteration = int(state["iteration"])
        self.ema_updates = int(state["ema_updates"])
        self.ema_clock.fill_(self.ema_updates)
        self.epoch = int(state["epoch"])
