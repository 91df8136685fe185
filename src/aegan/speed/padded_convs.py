"""Convolutions with a thin side (fewer than 8 channels in or out), run zero-padded to 8.

cuDNN's tensor-core kernels want channel counts that are multiples of 8; a 1-channel layer
(the discriminator's input convolution and the generator's output ConvTranspose on
greyscale images) falls back to a generic engine that ran at 3.8-6.1 TFLOPS on an H200,
against 245-510 TFLOPS for the other layers of the DCGAN (``scripts/probe_dcgan_gpu.py``).
Padded with zero channels (zero inputs or zero weights), such a layer gives the same output
and the same gradients for its real channels. ``trainer.pad_thin_convs`` swaps the class of
the layers in place: the parameters stay the optimizer's, the state_dict is unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PAD_MULTIPLE = 8


def padded(channels: int) -> int:
    """``channels`` rounded up to a multiple of 8."""
    return -(-channels // PAD_MULTIPLE) * PAD_MULTIPLE


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype a convolution of ``x`` runs in: autocast's, when it is on."""
    if torch.is_autocast_enabled(x.device.type):
        return torch.get_autocast_dtype(x.device.type)
    return x.dtype


def pad_channels(
    t: torch.Tensor, channels: int, dtype: torch.dtype, memory_format: torch.memory_format
) -> torch.Tensor:
    """(N, c, H, W) -> (N, channels, H, W) in ``dtype`` and ``memory_format``, zeros after c.

    One fill and one copy (the cast included); gradients flow back to ``t``'s channels.
    """
    out = torch.empty(
        (t.shape[0], channels, *t.shape[2:]), dtype=dtype, device=t.device,
        memory_format=memory_format,
    )  # fmt: skip
    out.zero_()
    out[:, : t.shape[1]] = t
    return out


class PaddedConv2d(nn.Conv2d):
    """``nn.Conv2d`` with its input channels zero-padded to a multiple of 8."""

    memory_format = torch.contiguous_format  # set by ``pad_thin_convs``

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels, dtype = padded(self.in_channels), _compute_dtype(x)
        x = pad_channels(x, channels, dtype, self.memory_format)  # (N, 8, H, W)
        weight = pad_channels(self.weight, channels, dtype, self.memory_format)  # (out, 8, k, k)
        bias = self.bias.to(dtype) if self.bias is not None else None
        return self._conv_forward(x, weight, bias)


class PaddedConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` with its output channels zero-padded to a multiple of 8 and
    sliced back: the output is a view of the padded one, in its memory order."""

    memory_format = torch.contiguous_format  # set by ``pad_thin_convs``

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        output_padding = self._output_padding(
            x, output_size, self.stride, self.padding, self.kernel_size, 2, self.dilation
        )
        channels, dtype = padded(self.out_channels), _compute_dtype(x)
        # weight (in, out, k, k) -> (in, 8, k, k)
        weight = pad_channels(self.weight, channels, dtype, self.memory_format)
        bias = None
        if self.bias is not None:
            bias = F.pad(self.bias.to(dtype), (0, channels - self.out_channels))
        out = F.conv_transpose2d(
            x.to(dtype), weight, bias, self.stride, self.padding, output_padding, self.groups,
            self.dilation,
        )  # fmt: skip
        return out[:, : self.out_channels]  # (N, out, H', W')


def pad_thin_convs(module: nn.Module, memory_format: torch.memory_format) -> int:
    """Run the thin ``Conv2d`` / ``ConvTranspose2d`` layers of ``module`` padded; return how many.

    Only plain layers with ``groups=1`` (and zero padding mode, for ``Conv2d``) change; a
    spectral-normalised layer (a parametrised class) keeps its own forward.
    """
    replaced = 0
    for layer in module.modules():
        if type(layer) is nn.Conv2d and layer.groups == 1 and layer.padding_mode == "zeros":
            thin, padded_class = layer.in_channels % PAD_MULTIPLE, PaddedConv2d
        elif type(layer) is nn.ConvTranspose2d and layer.groups == 1:
            thin, padded_class = layer.out_channels % PAD_MULTIPLE, PaddedConvTranspose2d
        else:
            continue
        if thin:
            layer.__class__ = padded_class  # the same object: its parameters are the optimizer's
            layer.memory_format = memory_format
            replaced += 1
    return replaced
