"""The adversarial autoencoder (Makhzani et al. 2015): an autoencoder whose codes a
discriminator compares with draws from a prior, so that decoding prior draws generates.

Per batch: the reconstruction phase (encoder and decoder), then the regularisation phase:
D on prior draws against the codes, then the encoder as D's generator. The encoder is
deterministic, or Gaussian (``posterior``): its codes are then draws of q(z|x) =
N(mean, exp(logvar)) by the reparameterisation trick, so that the codes of all images (the
aggregated posterior q(z), which D compares with the prior) leave no direction empty, as a
deterministic encoder's dead hidden units do. The prior (``aegan.tasks.code_prior``) is a
standard Gaussian or a mixture of 10 Gaussians in the first two code dimensions; with
``label_prior`` the label picks the component, and D sees it (the supervised variant). With
``ema_decay`` the codes, samples and metrics come from an exponential moving average of the
autoencoder, as the GANs' come from their EMA generator: the adversarial phase leaves the
live encoder oscillating about the prior.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from aegan.amp import Amp
from aegan.contract import Task
from aegan.data import normalize
from aegan.errors import ConfigError
from aegan.losses import get_gan_loss
from aegan.models.hybrid import POSTERIORS
from aegan.models.vae import GaussianEncoderDecoder, reparameterize
from aegan.tasks.autoencoder import AE_LOSSES, reconstruction_loss
from aegan.tasks.build import build_network, build_optimizer
from aegan.tasks.checks import MAX_CODE, check_choice, check_hidden_dims, check_number
from aegan.tasks.code_prior import COMPONENTS, CodePrior, check_prior_settings
from aegan.tasks.ema import ExponentialMovingAverage
from aegan.tasks.inputs import random_source, taken_codes, taken_images
from aegan.tasks.latents import PriorEncoderDecoder

CLASS_COLORS = torch.tensor([
    [0.12, 0.47, 0.71], [1.0, 0.5, 0.05], [0.17, 0.63, 0.17], [0.84, 0.15, 0.16],
    [0.58, 0.4, 0.74], [0.55, 0.34, 0.29], [0.89, 0.47, 0.76], [0.5, 0.5, 0.5],
    [0.74, 0.74, 0.13], [0.09, 0.75, 0.81],
])  # fmt: skip  # tab10, one per class; the prior's draws in light grey


class AaeTask(PriorEncoderDecoder, Task):
    """Train an autoencoder network with an adversarially matched code distribution; the
    objective is validation MSE."""

    objective = "val/mse"
    metrics = ("reconstruction", "probe", "pca", "prior_match", "classifier", "fd", "kid",
               "prdc", "classes")  # fmt: skip
    limits = {
        "compile_scope=step": "D's loss and the encoder's adversarial loss back-propagate "
        "through one compiled graph of its codes, which the first frees"
    }

    def __init__(
        self,
        *,
        image_shape: Sequence[int],
        device: torch.device | str = "cpu",
        name: str = "aae",
        net: dict,
        discriminator: dict,
        ae_optimizer: dict,
        d_optimizer: dict,
        g_optimizer: dict,
        latent_dim: int = 32,
        hidden_dims: Sequence[int] | None = None,  # read by model.net: ${..hidden_dims}
        loss: str = "mse",
        gan_loss: str = "ns",
        prior: str = "gaussian",
        prior_layout: str | None = None,  # the mixture's; null: its circle
        label_prior: bool = False,
        posterior: str = "deterministic",
        ema_decay: float | None = None,
    ) -> None:
        check_number("model.latent_dim", latent_dim, low=2, high=MAX_CODE, integer=True)
        check_hidden_dims(hidden_dims, net)
        check_choice("model.loss", loss, AE_LOSSES)
        check_choice("model.posterior", posterior, POSTERIORS)
        check_number("model.ema_decay", ema_decay or 0.0, low=0, high=1, high_open=True)
        check_prior_settings(prior, prior_layout, label_prior)
        self.gan = get_gan_loss(gan_loss, "model.gan_loss", penalty=False)
        self.name, self.latent_dim, self.loss_kind = name, latent_dim, loss
        self.device, self.image_shape = torch.device(device), tuple(image_shape)
        self.net = build_network(
            "model.net", net, require=("encode", "decode_logits", "encoder"),
            image_shape=image_shape, latent_dim=latent_dim,
        ).to(device)  # fmt: skip
        self.gaussian = posterior == "gaussian"
        if self.gaussian != isinstance(self.net, GaussianEncoderDecoder):
            raise ConfigError(
                f"model.posterior={posterior} needs a network whose encoder gives "
                f"{'a mean and a log-variance' if self.gaussian else 'the code'}, and "
                f"model.net._target_={net['_target_']} does not; use the model's own "
                "aegan.models.aae_autoencoder, which follows model.posterior"
            )
        labels = COMPONENTS if label_prior else 0  # D's one-hot input: the label, or none
        self.discriminator = build_network(
            "model.discriminator", discriminator, require=("forward",), latent_dim=latent_dim,
            set_by={"num_labels": "model.label_prior"}, **({"num_labels": labels} if labels else {}),
        ).to(device)  # fmt: skip
        if getattr(self.discriminator, "num_labels", labels) != labels:
            raise ConfigError(  # else D asks for labels the step does not give, or ignores them
                f"model.discriminator.num_labels={self.discriminator.num_labels} is not allowed: "
                f"with model.label_prior={str(bool(label_prior)).lower()} it must be {labels}"
            )
        self.networks: dict[str, nn.Module] = {
            "autoencoder": self.net,
            "discriminator": self.discriminator,
        }
        self.encoder_params = list(self.net.encoder.parameters())
        self.optimizers = {
            "autoencoder": build_optimizer(
                "model.ae_optimizer", ae_optimizer, self.net.parameters()
            ),
            "discriminator": build_optimizer(
                "model.d_optimizer", d_optimizer, self.discriminator.parameters()
            ),
            "encoder": build_optimizer("model.g_optimizer", g_optimizer, self.encoder_params),
        }
        self.ema: ExponentialMovingAverage | None = None
        if ema_decay:
            self.ema = ExponentialMovingAverage(self.net, float(ema_decay))
            self.networks["autoencoder_ema"] = self.ema.network
        self.prior = CodePrior(prior, prior_layout or "circle", latent_dim, self.device)
        self.uses_labels = bool(label_prior)

    def check_data(self, data: Any) -> None:
        """With ``label_prior`` each class picks a component: two classes at least (one is
        no labels: every code would be matched to one component), and no more classes than
        components. ``data``: what is read, or its sizes listed before (a class count)."""
        if not self.uses_labels or data.classes is None:
            return
        classes = data.classes if isinstance(data.classes, int) else len(data.classes)
        where = getattr(data, "origin", None) or data.name
        if classes < 2:
            raise ConfigError(
                f"model.label_prior=true is not allowed on data {where}: it holds one class, "
                "so every label is the same and every code is matched to one component; use "
                "data with a sub-folder per class, or model.label_prior=false"
            )
        if classes > COMPONENTS:  # else an index error in a step
            raise ConfigError(
                f"model.label_prior=true with model.prior=mixture is not allowed on data "
                f"{where} with {classes} classes: the mixture has {COMPONENTS} components, "
                f"one per class; use data of at most {COMPONENTS} classes, or "
                "model.label_prior=false"
            )

    def train_step(self, batch: Any, amp: Amp) -> dict[str, torch.Tensor]:
        images, labels = batch if self.uses_labels else (batch, None)
        x = normalize(images, "unit")
        with amp.autocast():  # the reconstruction phase
            logits = self.net.decode_logits(self._codes(x))
        recon = reconstruction_loss(logits, x, self.loss_kind)
        amp.backward(recon)
        amp.step(self.optimizers["autoencoder"])

        with amp.autocast():  # the regularisation phase: D, then the encoder as its generator
            codes = self._codes(x)
            prior = self.prior.sample(len(x), labels)
            real_logits = self.discriminator(prior, labels)
            fake_logits = self.discriminator(codes.detach(), labels)
        d_loss = self.gan.discriminator(real_logits, fake_logits)
        amp.backward(d_loss, inputs=list(self.discriminator.parameters()))
        amp.step(self.optimizers["discriminator"])
        for param in self.encoder_params:  # the reconstruction phase's gradients are spent
            param.grad = None
        with amp.autocast():
            g_logits = self.discriminator(codes, labels)
        g_loss = self.gan.generator(g_logits)
        amp.backward(g_loss, inputs=self.encoder_params)
        amp.step(self.optimizers["encoder"])
        if self.ema is not None:
            self.ema.update(self.net)
        accuracy = torch.cat([real_logits > 0, fake_logits < 0]).float().mean()
        return {"train/recon_loss": recon.detach(), "train/d_loss": d_loss.detach(),
                "train/g_loss": g_loss.detach(), "train/d_accuracy": accuracy}  # fmt: skip

    @torch.no_grad()
    def validate(self, batches: Iterable[torch.Tensor], amp: Amp) -> dict[str, float]:
        total, count = torch.zeros((), dtype=torch.float64, device=self.device), 0
        for batch in batches:
            x = normalize(batch, "unit")
            total += (self.reconstruct(x) - x).square().sum().double()
            count += x.numel()
        return {"val/mse": total.item() / count}

    @property
    def evaluated(self) -> nn.Module:
        """The autoencoder that encodes, decodes and is measured: the EMA one if kept."""
        return self.ema.network if self.ema is not None else self.net

    def _codes(
        self,
        x: torch.Tensor,
        generator: torch.Generator | None = None,
        net: nn.Module | None = None,
    ) -> torch.Tensor:
        """The codes (B, latent_dim) of ``net`` (the trained one unless given): the encoder's,
        or a draw of q(z|x) each (``generator``: the noise drawn on the CPU)."""
        net = self.net if net is None else net
        if not self.gaussian:
            return net.encode(x)
        return reparameterize(*net.encode(x), generator)

    # ---- what the metrics and a notebook call ---------------------------------------

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code of each image (B, latent_dim); with a Gaussian posterior, its mean."""
        codes = self.evaluated.encode(taken_images(self, "encode", x))
        return (codes[0] if self.gaussian else codes).float()

    @torch.no_grad()
    def posterior_codes(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Draws of the aggregated posterior q(z), one per image (B, latent_dim): what the
        prior is matched against (the codes themselves when the encoder is deterministic)."""
        x = taken_images(self, "posterior_codes", x)
        generator = random_source(f"{type(self).__name__}.posterior_codes", generator)
        return self._codes(x, generator, self.evaluated).float()

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        codes = taken_codes(self, "decode", codes, "codes")
        return torch.sigmoid(self.evaluated.decode_logits(codes).float())

    def draw_latents(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` draws of the code prior (n, latent_dim): what ``sample`` decodes."""
        return self.prior.sample(n, generator=generator)

    sample_prior = draw_latents  # what the prior_match metric compares the codes with

    def extra_state(self) -> dict[str, Any]:
        return {"ema_updates": self.ema.updates() if self.ema is not None else 0}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if self.ema is not None:  # a checkpoint from before the average was kept has none
            self.ema.set_updates(int(state.get("ema_updates", 0)))

    @torch.no_grad()
    def log_epoch(self, logger, data, step: int) -> None:
        """Reconstructions, decoded prior draws, and the codes of validation images (draws of
        q(z|x) with a Gaussian posterior) by class, first two dimensions, over draws of the
        prior (grey)."""
        x = normalize(data.fixed_images(16), "unit")
        logger.image_grid("val/reconstructions", torch.cat([x, self.reconstruct(x)]), step)
        prior = self.sample_prior(1000, torch.Generator().manual_seed(0))
        logger.image_grid("samples/prior", self.generate(prior[:64]), step)
        images, labels = data.val_images[:2000], data.val_labels[:2000].cpu()
        codes = self.posterior_codes(normalize(images, "unit"), torch.Generator().manual_seed(0))
        codes = codes.cpu()
        colors = torch.cat([torch.full((len(prior), 3), 0.8), CLASS_COLORS[labels % 10]])
        logger.scatter(
            "codes/by_class_over_prior", torch.cat([prior.cpu(), codes])[:, :2], colors, step
        )
