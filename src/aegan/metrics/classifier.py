"""The domain feature network: a small CNN classifier whose 128-d penultimate layer stands in
for Inception features in FID/KID/PRDC, and whose predictions give class histograms.

Input conventions:
- ``DomainClassifier.forward`` / ``.features`` take float tensors (B, C, H, W) already in [0, 1];
  the network normalises internally.
- ``train_classifier``, ``classifier_accuracy``,
  ``extract_features`` and ``predict_classes`` take either uint8 tensors (N, C, H, W) in
  [0, 255] or float tensors (N, C, H, W) in [0, 1]; (N, H, W) is read as one channel.
  Data stays on the CPU and is moved to ``device`` one batch at a time.

Trained once per data set and recipe, then cached: ``aegan.metrics.classifier_cache``.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from aegan.engine.rng_state import seeded
from aegan.metrics.arguments import device as checked_device
from aegan.metrics.arguments import images as checked_images
from aegan.metrics.arguments import integer, labelled, number, tensor
from aegan.metrics.arguments import labels as class_ids

log = logging.getLogger(__name__)

# training defaults, shared by train_classifier and classifier_recipe (the cache key)
DEFAULT_EPOCHS = 8
DEFAULT_BATCH_SIZE = 256
DEFAULT_LR = 3e-3
DEFAULT_WIDTHS = (16, 32, 64)
FEATURE_DIM = 128


def as_images(images: Any, taker: str = "the domain classifier") -> torch.Tensor:
    """uint8 or [0, 1] float images (N, C, H, W), or (N, H, W) as (N, 1, H, W), checked
    (``aegan.metrics.arguments.images``: one line naming ``images`` and ``taker``)."""
    images = tensor("images", images, taker, "images (N, C, H, W) or (N, H, W)")
    return checked_images("images", images.unsqueeze(1) if images.ndim == 3 else images, taker)


def _classifier(model: Any, taker: str, member: str = "forward") -> nn.Module:
    """``model`` if it is a network with ``member`` (a ``DomainClassifier``), else one line."""
    if not isinstance(model, nn.Module) or not callable(getattr(model, member, None)):
        raise ValueError(
            f"model of type {type(model).__name__}: {taker} takes a DomainClassifier "
            "(aegan.metrics.load_or_train_classifier's)"
        )
    return model


def _to_unit_float(batch: torch.Tensor) -> torch.Tensor:
    """uint8 in [0, 255] -> float32 in [0, 1]; float input is assumed in [0, 1] already."""
    if batch.dtype == torch.uint8:
        return batch.float().div_(255.0)
    return batch.float()


class DomainClassifier(nn.Module):
    """Three conv blocks (conv3x3-BN-ReLU-maxpool2) -> 128-d features -> class logits."""

    def __init__(
        self,
        *,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int = 28,
        widths: tuple[int, ...] = DEFAULT_WIDTHS,
        feature_dim: int = FEATURE_DIM,
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        channels, size = in_channels, image_size
        for width in widths:
            blocks += [
                nn.Conv2d(channels, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            channels, size = width, size // 2
        if size < 1:
            raise ValueError(f"image_size {image_size} too small for {len(widths)} pooling blocks")
        self.conv = nn.Sequential(*blocks)  # (B, C, H, W) -> (B, widths[-1], H/8, W/8)
        self.to_features = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * size * size, feature_dim, bias=False),
            nn.BatchNorm1d(feature_dim),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(feature_dim, num_classes))
        self.feature_dim = feature_dim
        self.num_classes = num_classes
        self.image_shape = (in_channels, image_size, image_size)  # (C, H, W) it takes

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, H, W) float in [0, 1] -> (B, feature_dim) post-ReLU features."""
        x = (x - 0.5) / 0.5  # [0, 1] -> [-1, 1]
        return self.to_features(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, H, W) float in [0, 1] -> (B, num_classes) logits."""
        return self.head(self.features(x))


def _random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flip each image of a (B, C, H, W) batch left-right with probability 1/2."""
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    return torch.where(flip[:, None, None, None].to(x.device), x.flip(-1), x)


@torch.enable_grad()  # also when called from an evaluation under no_grad
def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    num_classes: int,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lr: float = DEFAULT_LR,
    augment: bool = False,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> DomainClassifier:
    """Train a ``DomainClassifier`` with Adam and a one-cycle learning rate schedule.

    images: uint8 (N, C, H, W) [or (N, H, W)] or float in [0, 1]; kept whole on the CPU and
    batched by shuffled index. labels: (N,) integer class ids. ``augment`` adds random
    left-right flips (off by default: no measurable gain at 8 epochs). ``device``: auto, cpu,
    cuda, cuda:N or a ``torch.device`` (where it trains, a batch at a time). Returns the model in
    eval mode. Its test accuracy is reported with the metrics (``classifier/test_accuracy``);
    about 3.5 min on one CPU thread for the Fashion-MNIST training split.
    """
    taker = "train_classifier"
    device = checked_device("device", device)
    images = as_images(images, taker)
    num_classes = integer("num_classes", num_classes, low=2, meaning="an integer >= 2")
    labels = labelled("labels", class_ids("labels", labels, taker, classes=num_classes),
                      images, "images", taker)  # fmt: skip
    epochs = integer("epochs", epochs, low=1, meaning="an integer >= 1")
    # a batch of one is skipped (BatchNorm): all of them would leave the network untrained
    batch_size = integer("batch_size", batch_size, low=2, meaning="an integer >= 2")
    lr = number("lr", lr, low=0, meaning="the learning rate, a number > 0")
    seed = integer("seed", seed, low=0, high=2**63 - 1, meaning="an integer from 0 to 2**63 - 1")
    if images.shape[-1] != images.shape[-2]:
        raise ValueError(f"expected square images, got {tuple(images.shape[-2:])}")
    with seeded(seed, device):  # weight init and dropout; the caller's generators kept
        generator = torch.Generator().manual_seed(seed)  # shuffling and augmentation
        model = DomainClassifier(
            in_channels=images.shape[1], num_classes=num_classes, image_size=images.shape[-1]
        ).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        steps_per_epoch = (images.shape[0] + batch_size - 1) // batch_size
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch
        )
        model.train()
        for epoch in range(epochs):
            order = torch.randperm(images.shape[0], generator=generator)
            bar = tqdm(
                order.split(batch_size),
                desc=f"classifier epoch {epoch + 1}/{epochs}",
                disable=None if progress else True,  # None: off when stderr is not a terminal
                leave=False,
            )
            for index in bar:
                if index.numel() < 2:  # BatchNorm cannot train on a single sample
                    continue
                x = _to_unit_float(images[index]).to(device)  # (B, C, H, W) in [0, 1]
                y = labels[index].to(device)
                if augment:
                    x = _random_flip(x, generator)
                loss = F.cross_entropy(model(x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                bar.set_postfix(loss=f"{loss.item():.3f}")
        return model.eval()


@torch.no_grad()
def _batched(model: nn.Module, fn, images: Any, batch_size: Any, taker: str) -> torch.Tensor:
    """Apply ``fn(batch)`` over uint8/float images in batches on the model's device; CPU result."""
    images = as_images(images, taker)
    shape = getattr(model, "image_shape", None)  # a DomainClassifier's; deep in a conv else
    if shape is not None and tuple(images.shape[1:]) != tuple(shape):
        built = ", ".join(map(str, shape))
        raise ValueError(
            f"images of shape {tuple(images.shape)}: {taker} takes images (N, {built}), as "
            "the classifier was built for"
        )
    batch_size = integer("batch_size", batch_size, low=1, meaning="an integer >= 1")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    outputs = [fn(_to_unit_float(chunk).to(device)).cpu() for chunk in images.split(batch_size)]
    model.train(was_training)
    return torch.cat(outputs)


def extract_features(
    model: DomainClassifier, images: torch.Tensor, *, batch_size: int = 512
) -> torch.Tensor:
    """images: uint8 (N, C, H, W) or float in [0, 1] -> (N, feature_dim) float32 on the CPU."""
    model = _classifier(model, "extract_features", "features")
    return _batched(model, model.features, images, batch_size, "extract_features")


def predict_classes(
    model: DomainClassifier, images: torch.Tensor, *, batch_size: int = 512
) -> torch.Tensor:
    """images: uint8 (N, C, H, W) or float in [0, 1] -> (N,) int64 predicted class ids."""
    model = _classifier(model, "predict_classes")
    return _batched(model, lambda x: model(x).argmax(dim=1), images, batch_size, "predict_classes")


def classifier_accuracy(
    model: DomainClassifier, images: torch.Tensor, labels: torch.Tensor, *, batch_size: int = 512
) -> float:
    """Top-1 accuracy in [0, 1]; images uint8 (N, C, H, W) or float in [0, 1]; labels (N,)."""
    taker = "classifier_accuracy"
    images = as_images(images, taker)
    labels = labelled("labels", class_ids("labels", labels, taker), images, "images", taker)
    predictions = predict_classes(model, images, batch_size=batch_size)
    return (predictions == labels).float().mean().item()
