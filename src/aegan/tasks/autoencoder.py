"""The autoencoder task: reconstruct x in [0, 1] under MSE (the article) or BCE."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from aegan.data import ImageData, normalize, normalized_batches
from aegan.engine.amp import Amp, ConfigError
from aegan.engine.speed import NetworkWrapper
from aegan.logger import TensorBoardLogger
from aegan.models import DenseAutoencoder
from aegan.tasks.base import Task

AE_LOSSES = ("mse", "bce")


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean loss per pixel, in fp32 whatever the autocast dtype of ``logits``."""
    logits = logits.float()
    if kind == "mse":
        return F.mse_loss(torch.sigmoid(logits), x)
    return F.binary_cross_entropy_with_logits(logits, x)


def bce_with_logits_sum(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``F.binary_cross_entropy_with_logits(logits, x, reduction="sum")``, 4x faster on the CPU.

    max(l, 0) - l * x + log(1 + exp(-|l|)), with the last term as -log(sigmoid(|l|)): torch's
    CPU ``log1p`` (and so softplus and its BCE) is not vectorised, ``log`` and ``sigmoid``
    are. Where sigmoid(|l|) rounds to 1 (|l| > 16.6) a term < 6e-8 is dropped.
    """
    return (logits.clamp(min=0) - logits * x - torch.sigmoid(logits.abs()).log()).sum()


class AutoencoderTask(Task):
    """Train a ``DenseAutoencoder``; the objective is validation MSE."""

    objective = "val/mse"
    pixel_range = "unit"
    step_compile_unsupported = None  # forward, backward and Adam compile (compile_scope=step)

    def __init__(
        self,
        net: DenseAutoencoder,
        optimizer: Callable[..., torch.optim.Optimizer],
        *,
        loss: str = "mse",
        fixed_images: torch.Tensor,
        class_names: Sequence[str] = (),
        projector_samples: int = 1000,
    ) -> None:
        if loss not in AE_LOSSES:
            raise ConfigError(
                f"model.loss={loss!r} is not an autoencoder loss; choose one of: {', '.join(AE_LOSSES)}"
            )
        self.net, self.loss_kind = net, loss
        self.forward_net: nn.Module = net  # DDP / compiled (see ``wrap_networks``)
        self.modules = {"autoencoder": net}
        self.optimizers = {"optimizer": optimizer(net.parameters())}
        self.fixed_images = normalize(fixed_images, self.pixel_range)  # (16, C, H, W)
        self.class_names, self.projector_samples = tuple(class_names), projector_samples

    def train_step(self, x: torch.Tensor, amp: Amp) -> dict[str, torch.Tensor]:
        optimizer = self.optimizers["optimizer"]
        self.zero_grads()
        with amp.autocast():
            logits = self.forward_net(x)
        loss = reconstruction_loss(logits, x, self.loss_kind)
        stats = {"train/loss": loss.detach()}
        amp.backward(loss)
        amp.step(optimizer)
        return stats

    def wrap_networks(self, wrap: NetworkWrapper) -> None:
        self.forward_net = wrap(self.net)

    @torch.no_grad()
    def validate(self, batches: Iterable[torch.Tensor], amp: Amp) -> dict[str, float]:
        """``val/mse`` (the objective) and, when it is the training loss, ``val/bce``: the
        BCE pass would double this per-epoch cost; the final evaluation reports both."""
        kinds = ("mse", "bce") if self.loss_kind == "bce" else ("mse",)
        sums = self._reconstruction_sums(batches, amp, kinds)
        return {f"val/{kind}": sums[kind] for kind in kinds}

    @torch.no_grad()
    def _reconstruction_sums(
        self, batches: Iterable[torch.Tensor], amp: Amp, kinds: Sequence[str] = AE_LOSSES
    ) -> dict[str, float]:
        """Per-pixel means of ``kinds`` (mse, bce) over all batches: exact, summed in float64,
        read with one host sync at the end."""
        sums, count = None, 0
        for x in batches:
            with amp.autocast():
                logits = self.net(x)
            logits = logits.float()
            batch_sums = []
            if "mse" in kinds:
                batch_sums.append(F.mse_loss(torch.sigmoid(logits), x, reduction="sum"))
            if "bce" in kinds:
                batch_sums.append(bce_with_logits_sum(logits, x))
            batch_sums = torch.stack(batch_sums).double()  # (len(kinds),)
            sums = batch_sums if sums is None else sums + batch_sums
            count += x.numel()
        return dict(zip(kinds, (sums / count).tolist(), strict=True))

    @torch.no_grad()
    def log_epoch(self, logger: TensorBoardLogger, step: int) -> None:
        """Fixed validation images (top rows) over their reconstructions (bottom rows)."""
        recon = self.net.reconstruct(self.fixed_images)
        logger.image_grid("val/reconstructions", torch.cat([self.fixed_images, recon]), step)

    @torch.no_grad()
    def evaluate(self, data: ImageData, amp: Amp) -> dict[str, float]:
        """Exact test MSE and BCE per pixel; ``aegan.evaluate`` adds PSNR, SSIM, probe, PCA."""
        batches = normalized_batches(data.test_images, 1000, self.pixel_range)
        sums = self._reconstruction_sums(batches, amp)
        return {"test/mse": sums["mse"], "test/bce": sums["bce"]}

    @torch.no_grad()
    def log_final(self, logger: TensorBoardLogger, data: ImageData, step: int) -> None:
        """Codes of the first test images, labelled by class, with a sprite, for the projector."""
        n = min(self.projector_samples, len(data.test_images))
        if n == 0:
            return
        x = normalize(data.test_images[:n], self.pixel_range)
        labels = data.test_labels[:n].tolist()
        names = [self.class_names[i] if i < len(self.class_names) else str(i) for i in labels]
        logger.embedding(self.net.encode(x), labels=names, images=x, step=step, tag="test_codes")
