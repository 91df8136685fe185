"""InfoGAN (Chen et al. 2016): the DCGAN with structured codes in its input, a categorical
code c (one of ``categories``, one-hot) and ``continuous`` codes uniform in [-1, 1], and an
auxiliary head Q on the discriminator's body that recovers them from the images. Maximising
the lower bound on the mutual information I(c; G(z, c)), weighted by ``info_weight``, makes
the codes control what is generated, without labels.

Per batch, the DCGAN's step (its losses, penalties and ``n_critic``): D and Q step on
(x, G(z, c).detach()): D's loss plus ``info_weight`` times Q's (cross-entropy of c, and
``continuous_weight`` times a unit-variance Gaussian NLL of the continuous codes); then G
steps on D's loss and the same info term, D and Q held.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from aegan.contract import RANGE_SLACK
from aegan.errors import ConfigError
from aegan.tasks.checks import MAX_CODE, check_number
from aegan.tasks.gan import GanTask
from aegan.tasks.inputs import integer, random_source, taken_count


class InfoGanTask(GanTask):
    """The DCGAN task with categorical and continuous codes and Q; the generator's input is
    (noise (noise_dim), one-hot c (categories), continuous (continuous))."""

    metrics = ("code_control", "classifier", "fd", "kid", "prdc", "classes")
    tutorial_step = None  # no plain loop trains Q: aegan.bench times its step alone
    discriminator_calls = ("forward", "forward_with_q", "categories", "continuous")
    latent_set_by = "model.noise_dim + model.categories + model.continuous"

    def __init__(
        self,
        *,
        image_shape: Sequence[int],
        noise_dim: int = 62,
        categories: int = 10,
        continuous: int = 2,
        info_weight: float = 1.0,
        continuous_weight: float = 0.1,
        name: str = "infogan",
        **gan_settings: Any,
    ) -> None:
        check_number("model.categories", categories, low=2, high=16, integer=True)
        check_number("model.continuous", continuous, low=0, high=64, integer=True)
        # with them the generator's input, its code: at most MAX_CODE wide, as every task's
        top = MAX_CODE - categories - continuous
        check_number("model.noise_dim", noise_dim, low=1, high=top, integer=True)
        check_number("model.info_weight", info_weight, low=0, high=1e6)
        check_number("model.continuous_weight", continuous_weight, low=0, high=1e6)
        self.noise_dim, self.categories, self.continuous = noise_dim, categories, continuous
        self.info_weight, self.continuous_weight = float(info_weight), float(continuous_weight)
        if "latent_dim" in gan_settings:  # it would be overwritten: say what sets it
            raise ConfigError(
                f"model.latent_dim={gan_settings['latent_dim']} is not allowed: InfoGAN's "
                f"generator input is model.noise_dim + model.categories + model.continuous "
                f"(= {noise_dim + categories + continuous}); set those and remove model.latent_dim"
            )
        gan_settings["latent_dim"] = noise_dim + categories + continuous
        super().__init__(image_shape=image_shape, name=name, **gan_settings)
        if not continuous or not info_weight:  # no continuous code, or Q is not trained
            why = "model.continuous=0" if not continuous else "model.info_weight=0"
            self.inert = {
                **self.inert,
                "model.continuous_weight": f"{why} leaves it nothing to weigh",
            }

    def discriminator_sizes(self) -> dict[str, Any]:
        return {"categories": self.categories, "continuous": self.continuous}  # Q's outputs

    def draw_codes(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu",
        category: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        """(generator input (n, latent_dim), c (n,) int64, continuous codes (n, continuous));
        ``category``: every c that value."""
        noise = torch.randn(n, self.noise_dim, generator=generator, device=device)
        if category is None:
            c = torch.randint(self.categories, (n,), generator=generator, device=device)
        else:
            c = torch.full((n,), category, dtype=torch.long, device=device)
        continuous = torch.rand(n, self.continuous, generator=generator, device=device) * 2 - 1
        one_hot = F.one_hot(c, self.categories).to(noise.dtype)
        return torch.cat([noise, one_hot, continuous], 1), c, continuous

    def draw_latents(self, n, generator=None, device="cpu") -> torch.Tensor:
        return self.draw_codes(n, generator, device)[0]

    def taken_latents(self, z: object) -> torch.Tensor:
        """``generate``'s ``z``, checked: (noise, c one-hot, continuous) in each row. A
        categorical part of zeros, two ones or halves made images without a word, from an
        input the generator never trained on."""
        z = super().taken_latents(z)
        start, end = self.noise_dim, self.noise_dim + self.categories
        part = z[:, start:end]  # (N, categories)
        ones, zeros = (part - 1).abs() <= RANGE_SLACK, part.abs() <= RANGE_SLACK
        wrong = ~((ones | zeros).all(1) & (ones.sum(1) == 1))
        if bool(wrong.any()):
            row = int(wrong.nonzero()[0, 0])
            shown = ", ".join(f"{value:.3g}" for value in part[row].tolist())
            raise ValueError(
                f"z[{row}, {start}:{end}] = [{shown}]: {type(self).__name__}.generate takes "
                f"each row's categorical code (columns {start} to {end - 1}, after the "
                f"{self.noise_dim} noise values) one-hot: one 1 and {self.categories - 1} zeros "
                f"(F.one_hot(c, {self.categories})); generate_with_code(category, n) makes them"
            )
        return z

    def discriminator_outputs(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(D's logits (N,), Q's categorical logits (N, K), continuous means (N, L))."""
        return self.discriminator.forward_with_q(images)

    def head_loss(self, heads, z) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``info_weight`` times -log q(c|x) + continuous_weight * 0.5 |continuous - mean|^2
        (per image, fp32) of the fakes made from ``z``, whose codes it holds; the unweighted
        term and Q's accuracy on c as step scalars."""
        category_logits, continuous_means = heads  # (B, K), (B, L)
        codes = z[:, self.noise_dim :]  # (B, K + L): one-hot c, then the continuous codes
        c, continuous = codes[:, : self.categories].argmax(1), codes[:, self.categories :]
        loss = F.cross_entropy(category_logits.float(), c)
        if self.continuous:
            loss = loss + self.continuous_weight * 0.5 * (
                (continuous_means.float() - continuous).square().sum(1).mean()
            )
        accuracy = (category_logits.detach().argmax(1) == c).float().mean()
        return self.info_weight * loss, {"train/info_loss": loss.detach(),
                                         "train/code_accuracy": accuracy}  # fmt: skip

    # ---- the codes at work -------------------------------------------------------------

    def generate_with_code(
        self, category: int, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``n`` images in [0, 1] whose categorical code is ``category``."""
        category = integer(
            "category", category, low=0, high=self.categories - 1,
            meaning=f"the categorical code is an integer from 0 to {self.categories - 1}",
        )  # fmt: skip
        n = taken_count(self, "generate_with_code", n)  # before n codes are drawn
        generator = random_source(f"{type(self).__name__}.generate_with_code", generator)
        return self.generate(self.draw_codes(n, generator, category=category)[0])

    @torch.no_grad()
    def log_epoch(self, logger, data, step: int) -> None:
        """The fixed-noise grids, and one row per categorical value with the first continuous
        code swept over [-2, 2] along the row (the same noise everywhere)."""
        super().log_epoch(logger, data, step)
        noise = torch.randn(1, self.noise_dim, generator=torch.Generator().manual_seed(0))
        rows = []
        for category in range(self.categories):
            continuous = torch.zeros(10, self.continuous)
            if self.continuous:
                continuous[:, 0] = torch.linspace(-2, 2, 10)
            one_hot = F.one_hot(torch.full((10,), category), self.categories).float()
            rows.append(torch.cat([noise.expand(10, -1), one_hot, continuous], 1))
        logger.image_grid("samples/codes", self.generate(torch.cat(rows)), step, nrow=10)
