"""The autoencoder task: reconstruct x in [0, 1] under MSE (the article) or BCE."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from aegan.amp import Amp
from aegan.contract import Task
from aegan.data import normalize
from aegan.losses import bernoulli_nll
from aegan.tasks.build import build_network, build_optimizer
from aegan.tasks.checks import MAX_CODE, check_choice, check_hidden_dims, check_number
from aegan.tasks.inputs import taken_codes, taken_images

AE_LOSSES = ("mse", "bce")


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean loss per pixel, in fp32 whatever the autocast dtype of ``logits``."""
    logits = logits.float()
    if kind == "mse":
        return F.mse_loss(torch.sigmoid(logits), x)
    return bernoulli_nll(logits, x).sum() / x.numel()


class AutoencoderTask(Task):
    """Train an autoencoder network (``encode``, ``decode_logits``; ``forward`` gives logits);
    the objective is validation MSE."""

    objective = "val/mse"
    metrics = ("reconstruction", "probe", "pca")

    def __init__(
        self,
        *,
        image_shape: Sequence[int],
        device: torch.device | str = "cpu",
        name: str = "autoencoder",
        net: dict,
        optimizer: dict,
        loss: str = "mse",
        latent_dim: int = 32,
        hidden_dims: Sequence[int] | None = None,  # read by model.net: ${..hidden_dims}
    ) -> None:
        check_choice("model.loss", loss, AE_LOSSES)
        check_number("model.latent_dim", latent_dim, low=1, high=MAX_CODE, integer=True)
        check_hidden_dims(hidden_dims, net)
        self.net: nn.Module = build_network(
            "model.net", net, require=("forward", "encode", "decode_logits"),
            image_shape=image_shape, latent_dim=latent_dim,
        ).to(device)  # fmt: skip
        self.name, self.latent_dim, self.loss_kind = name, latent_dim, loss
        self.image_shape = tuple(image_shape)  # (C, H, W): what encode and reconstruct take
        self.networks = {"autoencoder": self.net}
        self.optimizers = {
            "optimizer": build_optimizer("model.optimizer", optimizer, self.net.parameters())
        }

    def train_step(self, batch: torch.Tensor, amp: Amp) -> dict[str, torch.Tensor]:
        x = normalize(batch, "unit")  # (B, C, H, W) in [0, 1]
        optimizer = self.optimizers["optimizer"]
        with amp.autocast():
            logits = self.net(x)
        loss = reconstruction_loss(logits, x, self.loss_kind)
        stats = {"train/loss": loss.detach()}
        amp.backward(loss)
        amp.step(optimizer)
        return stats

    @torch.no_grad()
    def validate(self, batches: Iterable[torch.Tensor], amp: Amp) -> dict[str, float]:
        """``val/mse`` (the objective) and, when it is the training loss, ``val/bce``: exact
        per-pixel means, summed in float64 and read with one host sync at the end."""
        kinds = ("mse", "bce") if self.loss_kind == "bce" else ("mse",)
        sums, count = None, 0
        for batch in batches:
            x = normalize(batch, "unit")
            with amp.autocast():
                logits = self.net(x).float()
            terms = [F.mse_loss(logits.sigmoid(), x, reduction="sum")]
            if self.loss_kind == "bce":
                terms.append(bernoulli_nll(logits, x).sum())
            batch_sums = torch.stack(terms).double()  # (kinds,)
            sums = batch_sums if sums is None else sums + batch_sums
            count += x.numel()
        return {f"val/{k}": v for k, v in zip(kinds, (sums / count).tolist(), strict=True)}

    @torch.no_grad()
    def log_epoch(self, logger, data, step: int) -> None:
        """16 fixed validation images (top rows) over their reconstructions (bottom rows)."""
        x = normalize(data.fixed_images(16), "unit")
        logger.image_grid("val/reconstructions", torch.cat([x, self.reconstruct(x)]), step)

    # ---- what a notebook and the metrics call -----------------------------------------

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> codes (B, latent_dim)."""
        return self.net.encode(taken_images(self, "encode", x))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, latent_dim) -> images (B, C, H, W) in [0, 1]."""
        codes = taken_codes(self, "decode", codes, "codes")
        return torch.sigmoid(self.net.decode_logits(codes).float())

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> reconstructions in [0, 1]."""
        return torch.sigmoid(self.net(taken_images(self, "reconstruct", x)).float())

    def tutorial_step(self, next_batch: Callable[[], tuple]) -> Callable[[], None]:
        """This network trained as a tutorial writes it: a DataLoader batch of ToTensor
        floats, fp32, eager, ``torch.optim.Adam()`` with its defaults (``aegan.bench``)."""
        device = next(self.net.parameters()).device
        optimizer = torch.optim.Adam(self.net.parameters())

        def step() -> None:
            x, _ = next_batch()
            x = x.to(device)
            optimizer.zero_grad()
            loss = F.mse_loss(torch.sigmoid(self.net(x)), x)
            loss.backward()
            optimizer.step()

        return step
