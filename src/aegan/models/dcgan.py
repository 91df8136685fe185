"""DCGAN-style generator and discriminator (Radford et al. 2015), sized from the image shape.

The generator maps a latent vector z (B, latent_dim) to an image (B, C, H, W) in [-1, 1];
the discriminator maps an image to one logit per sample (B,). Both follow the article's
layers for 28x28 images and add stride-2 stages for larger ones (see `generator_layout`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from aegan.errors import ConfigError

__all__ = ["Discriminator", "Generator", "dcgan_init_", "generator_layout"]

MAX_START_SIZE = 8  # the generator starts at <= 8x8, the discriminator stops at <= 8x8
MIN_UPSAMPLES = 2  # the article's two stride-2 stages
MIN_EXTRA_CHANNELS = 32  # floor for the halving widths of extra generator stages
OUT_ACTIVATIONS = ("tanh", "none")  # the last layer: images in [-1, 1], or logits (a decoder's)


def generator_layout(image_size: int | Sequence[int]) -> tuple[int, int]:
    """Return (start_size, num_upsamples) for a square image of side `image_size`.

    `num_upsamples` is the smallest k >= 2 with size / 2**k <= 8, and the size must be
    divisible by 2**k: 28 -> (7, 2), 32 -> (8, 2), 64 -> (8, 3). `image_size` may also be
    an (H, W) pair. Raises ``ConfigError`` (one line) for non-square or unreachable sizes,
    so config validation can call this before building anything.
    """
    if isinstance(image_size, int):
        height = width = image_size
    else:
        height, width = (int(s) for s in image_size)
    num_upsamples = MIN_UPSAMPLES
    while height / 2**num_upsamples > MAX_START_SIZE:
        num_upsamples += 1
    divisor = 2**num_upsamples
    if height != width:
        raise ConfigError(f"image size {height}x{width}: the generator makes square images")
    if height <= 0 or height % divisor != 0:
        lower = max(height // divisor * divisor, divisor)
        nearest = sorted({lower, height // divisor * divisor + divisor})
        raise ConfigError(  # the side comes from the data's config: name that key
            f"data.image_size={height} cannot be reached by the generator: at this size it "
            f"must be divisible by {divisor} (the nearest: {' or '.join(map(str, nearest))})"
        )
    return height // divisor, num_upsamples


def dcgan_init_(module: nn.Module) -> nn.Module:
    """Radford et al. init, in place, on `module` and its children; returns `module`.

    Conv, ConvTranspose and Linear weights ~ N(0, 0.02); BatchNorm weights ~ N(1, 0.02);
    all biases 0. A spectral-normalised weight has its unnormalised original initialised.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(_weight_tensor(layer), 0.0, 0.02)
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if layer.weight is not None:
                nn.init.normal_(layer.weight, 1.0, 0.02)
        else:
            continue
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return module


def _weight_tensor(layer: nn.Module) -> Tensor:
    """The stored weight of `layer`: the original of a parametrised weight, else the weight."""
    if parametrize.is_parametrized(layer, "weight"):
        return layer.parametrizations.weight.original
    return layer.weight


def _as_shape(image_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or min(shape) <= 0:
        raise ValueError(f"image_shape must be (C, H, W) with positive sizes, got {shape}")
    return shape  # type: ignore[return-value]


def _check_kernel(kernel_size: int) -> int:
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd for 'same' padding, got {kernel_size}")
    return kernel_size


class Generator(nn.Module):
    """z (B, latent_dim) -> image (B, C, H, W) in [-1, 1].

    Layout for the default 28x28x1 (the article's, with its size and order defects fixed):
    Linear(latent_dim, 7*7*256, no bias) -> BN -> ReLU -> (B, 256, 7, 7)
    -> ConvT 256->128, stride 1 -> BN -> ReLU -> (B, 128, 7, 7)
    -> ConvT 128->128, stride 2 -> BN -> ReLU -> (B, 128, 14, 14)
    -> ConvT 128->C, stride 2 -> tanh -> (B, C, 28, 28).
    The start size and the number of stride-2 stages follow `generator_layout(H)`. Larger
    images get extra stride-2 stages before the last; each extra stage halves the previous
    stage's channel count, with a floor of 32 (64x64: 128 -> 128 -> 64 -> C).
    `channels` = (projection, stride-1 stage, first stride-2 stage, [further stride-2
    stages...]); missing stride-2 widths are filled in by halving. `out_activation="none"`
    leaves the last layer's output as logits (a decoder's).
    """

    def __init__(
        self,
        *,
        latent_dim: int = 100,
        image_shape: Sequence[int] = (1, 28, 28),
        channels: Sequence[int] = (256, 128, 128),
        kernel_size: int = 5,
        out_activation: str = "tanh",
    ) -> None:
        super().__init__()
        if out_activation not in OUT_ACTIVATIONS:
            raise ValueError(f"out_activation={out_activation!r}: choose tanh or none")
        image_channels, height, width = _as_shape(image_shape)
        start_size, num_upsamples = generator_layout((height, width))
        padding = _check_kernel(kernel_size) // 2
        widths = [int(c) for c in channels]
        if len(widths) < 2:
            raise ValueError(f"generator channels need at least 2 entries, got {widths}")
        num_hidden_upsamples = num_upsamples - 1  # the last stride-2 stage outputs C
        if len(widths) - 2 > num_hidden_upsamples:
            raise ValueError(
                f"generator channels {widths} have {len(widths) - 2} stride-2 widths but "
                f"image size {height}x{width} uses {num_hidden_upsamples}"
            )
        while len(widths) - 2 < num_hidden_upsamples:
            widths.append(max(widths[-1] // 2, MIN_EXTRA_CHANNELS))

        self.latent_dim = latent_dim
        self.image_shape = (image_channels, height, width)
        self.start_size = start_size
        self.project = nn.Sequential(
            nn.Linear(latent_dim, start_size * start_size * widths[0], bias=False),
            nn.BatchNorm1d(start_size * start_size * widths[0]),
            nn.ReLU(inplace=True),
        )
        stages: list[nn.Module] = [
            nn.ConvTranspose2d(widths[0], widths[1], kernel_size, 1, padding, bias=False),
            nn.BatchNorm2d(widths[1]),
            nn.ReLU(inplace=True),
        ]
        for in_channels, out_channels in zip(widths[1:-1], widths[2:], strict=True):
            # doubles H and W: (H - 1) * 2 - 2 * padding + kernel_size + 1 = 2 * H
            stages += [
                nn.ConvTranspose2d(
                    in_channels, out_channels, kernel_size, 2, padding, 1, bias=False
                ),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
            ]
        stages.append(
            nn.ConvTranspose2d(widths[-1], image_channels, kernel_size, 2, padding, 1, bias=False)
        )
        if out_activation == "tanh":
            stages.append(nn.Tanh())
        self.upsample = nn.Sequential(*stages)
        self.widths = tuple(widths)
        dcgan_init_(self)

    def forward(self, z: Tensor) -> Tensor:
        x = self.project(z)  # (B, start*start*widths[0]), e.g. (B, 12544) for 28x28
        x = x.view(z.shape[0], self.widths[0], self.start_size, self.start_size)  # (B, 256, 7, 7)
        return self.upsample(x)  # (B, C, H, W), e.g. (B, 1, 28, 28), in [-1, 1]


class Discriminator(nn.Module):
    """Image (B, C, H, W) -> one logit per image (B,); no sigmoid, use a loss on logits.

    Layout for the default 28x28x1 (the article's):
    Conv C->64, stride 2 -> LeakyReLU(0.2) -> Dropout(0.3) -> (B, 64, 14, 14)
    -> Conv 64->128, stride 2 -> LeakyReLU(0.2) -> Dropout(0.3) -> (B, 128, 7, 7)
    -> Flatten -> Linear(128*7*7, 1).
    Larger images get further stride-2 stages, doubling the channels, until both sides
    are <= 8 (64x64: 64 -> 128 -> 256, ending at 8x8). `spectral_norm=True` wraps every
    conv and the linear layer in spectral normalisation (Miyato et al. 2018).
    `out_features` > 1: the head's width (``aegan.models.conv.ConvEncoder`` keeps all).
    """

    def __init__(
        self,
        *,
        image_shape: Sequence[int] = (1, 28, 28),
        channels: Sequence[int] = (64, 128),
        kernel_size: int = 5,
        negative_slope: float = 0.2,
        dropout: float = 0.3,
        spectral_norm: bool = False,
        out_features: int = 1,
    ) -> None:
        super().__init__()
        image_channels, height, width = _as_shape(image_shape)
        padding = _check_kernel(kernel_size) // 2
        widths = [int(c) for c in channels]
        if not widths:
            raise ValueError("discriminator channels must not be empty")

        def downsampled(size: int) -> int:  # Conv2d output size for stride 2
            return (size + 2 * padding - kernel_size) // 2 + 1

        layers: list[nn.Module] = []
        in_channels, out_height, out_width = image_channels, height, width
        stage = 0
        while stage < len(widths) or max(out_height, out_width) > MAX_START_SIZE:
            out_channels = widths[stage] if stage < len(widths) else in_channels * 2
            layers += [
                nn.Conv2d(in_channels, out_channels, kernel_size, 2, padding),
                nn.LeakyReLU(negative_slope, inplace=True),
                nn.Dropout(dropout),
            ]
            in_channels = out_channels
            out_height, out_width = downsampled(out_height), downsampled(out_width)
            stage += 1
        self.features = nn.Sequential(*layers)
        self.feature_shape = (in_channels, out_height, out_width)  # (128, 7, 7) for 28x28
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(in_channels * out_height * out_width, out_features)
        )
        self.image_shape = (image_channels, height, width)
        dcgan_init_(self)
        if spectral_norm:
            for layer in [m for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]:
                _spectral_norm(layer)

    def forward(self, images: Tensor) -> Tensor:
        features = self.features(images)  # (B, 128, 7, 7) for 28x28
        return self.apply_head(features).squeeze(-1)  # (B,) logits

    def apply_head(self, features: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, out_features): ``self.head``, without copying channels_last features.

        Flattening NHWC memory in NCHW order is a strided copy forward and a layout mismatch
        backward; instead the features are flattened in memory order and the linear layer's
        (1, C*H*W) weight is reordered to match (a copy of 6272 numbers, not of the batch).
        """
        if features.is_contiguous() or not features.is_contiguous(
            memory_format=torch.channels_last
        ):
            return self.head(features)
        linear = self.head[1]
        channels, height, width = self.feature_shape
        weight = linear.weight.view(-1, channels, height, width).permute(0, 2, 3, 1).flatten(1)
        return F.linear(features.permute(0, 2, 3, 1).flatten(1), weight, linear.bias)
