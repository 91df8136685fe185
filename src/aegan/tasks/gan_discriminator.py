"""The discriminator's side of the GAN step: its forward over reals and fakes with the
penalties that regularise it (R1, Mescheder et al. 2018; the WGAN-GP gradient penalty,
Gulrajani et al. 2017), and how its logits read as a loss, scores and an accuracy.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from aegan.amp import Amp
from aegan.losses import GanLoss, gradient_penalty, r1_penalty
from aegan.speed.eager import eager_if_compiled

Outputs = Callable[[torch.Tensor], tuple[torch.Tensor, ...]]  # images -> (logits, *heads)


def penalized_logits(
    discriminator: nn.Module, x: torch.Tensor, fake: torch.Tensor, amp: Amp, *,
    r1_gamma: float, gp_weight: float, outputs: Outputs,
) -> tuple[torch.Tensor, torch.Tensor, tuple, list[torch.Tensor], dict[str, torch.Tensor]]:  # fmt: skip
    """D's logits (B,) on the reals ``x`` and on ``fake.detach()``, what D's other heads
    read of the fakes (``outputs``: images -> (logits, *heads), D's forward), the
    weighted penalties to add to D's loss, and their unweighted values as step scalars
    (``train/r1_penalty`` where ``r1_gamma`` > 0, ``train/gradient_penalty`` where
    ``gp_weight`` > 0)."""
    stats: dict[str, torch.Tensor] = {}
    penalties = []
    if r1_gamma:
        # the real forward in fp32 and eager: R1 differentiates its input gradient
        real = x.detach().requires_grad_(True)
        with amp.autocast():
            fake_logits, *heads = outputs(fake.detach())  # (B,), heads (B, ...)
        with torch.autocast(x.device.type, enabled=False), eager_if_compiled():
            real_logits = discriminator(real)  # (B,)
        penalty = r1_penalty(real_logits, real)
        stats["train/r1_penalty"] = penalty.detach()
        penalties.append(0.5 * r1_gamma * penalty)
    else:
        batch_size = x.shape[0]
        with amp.autocast():  # D has no batch norm: one forward over reals and fakes
            logits, *heads = outputs(torch.cat([x, fake.detach()]))  # (2B,), heads (2B, ...)
        real_logits, fake_logits = logits[:batch_size], logits[batch_size:]
        heads = [head[batch_size:] for head in heads]
    if gp_weight:
        penalty = gradient_penalty(discriminator, x, fake)  # fp32, eager inside
        stats["train/gradient_penalty"] = penalty.detach()
        penalties.append(gp_weight * penalty)
    return real_logits, fake_logits, tuple(heads), penalties, stats


class LogitReadout:
    """What D's logits say under ``loss``: its loss, its mean scores on reals and fakes
    (probabilities for ``ns``, raw outputs otherwise) and its accuracy, reals above and
    fakes below the decision threshold (0.5 for ``lsgan``, 0 otherwise)."""

    def __init__(self, loss: GanLoss, device: torch.device) -> None:
        self.loss = loss
        self.threshold = 0.5 if loss.name == "lsgan" else 0.0
        # +1 for reals, -1 for fakes: (logits - threshold) * sign > 0 when D is right
        self._real_fake_sign = torch.tensor([[1.0], [-1.0]], device=device)  # (2, 1)

    def objective(
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

    def accuracies(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict[str, float]:
        """D's accuracy on validation images and on samples, apart."""
        return {
            "val/d_real_accuracy": (real_logits > self.threshold).float().mean().item(),
            "val/d_fake_accuracy": (fake_logits < self.threshold).float().mean().item(),
        }
