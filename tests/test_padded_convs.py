"""``trainer.pad_thin_convs``: 1-channel convolutions run padded to 8 channels compute what
the plain layers do (outputs, parameter and input gradients), keep the state_dict, and are
applied on CUDA only. Their speed is measured by ``aegan.bench`` (README, "Performance")."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from aegan.models import Discriminator, Generator
from aegan.speed.padded_convs import (
    PaddedConv2d,
    PaddedConvTranspose2d,
    pad_thin_convs,
    padded,
)
from conftest import TINY_GAN, built

FORMATS = {"nchw": torch.contiguous_format, "nhwc": torch.channels_last}


def test_padded_rounds_up_to_eight():
    assert [padded(c) for c in (1, 3, 8, 9)] == [8, 8, 8, 16]


@pytest.mark.parametrize("layout", FORMATS)
@pytest.mark.parametrize("bf16", [False, True])
def test_padded_networks_compute_what_the_plain_ones_do(layout, bf16):
    torch.manual_seed(0)
    memory_format = FORMATS[layout]
    plain = [
        Generator(channels=(32, 16, 16)).to(memory_format=memory_format),
        Discriminator(channels=(16, 32), dropout=0.0).to(memory_format=memory_format),
    ]
    fast = copy.deepcopy(plain)
    assert [pad_thin_convs(net, memory_format) for net in fast] == [1, 1]
    assert isinstance(fast[0].upsample[-2], PaddedConvTranspose2d)  # G's 1-channel output
    assert isinstance(fast[1].features[0], PaddedConv2d)  # D's 1-channel input
    z = torch.randn(8, 100)
    outputs = []
    for generator, discriminator in (plain, fast):
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            images = generator(z)  # (8, 1, 28, 28)
            real = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
            real = real.contiguous(memory_format=memory_format).requires_grad_(True)
            logits = discriminator(torch.cat([images, real]))
        logits.float().square().sum().backward()
        outputs.append((images, logits, real.grad))
    (images, logits, real_grad), (images_fast, logits_fast, real_grad_fast) = outputs
    assert images_fast.shape == images.shape == (8, 1, 28, 28)
    tolerance = {"atol": 2e-2, "rtol": 2e-2} if bf16 else {}
    torch.testing.assert_close(images_fast, images, **tolerance)
    torch.testing.assert_close(logits_fast, logits, **tolerance)
    torch.testing.assert_close(real_grad_fast, real_grad, **tolerance)  # the input gradient
    for net, fast_net in zip(plain, fast, strict=True):
        assert fast_net.state_dict().keys() == net.state_dict().keys()
        for (name, p), fast_p in zip(net.named_parameters(), fast_net.parameters(), strict=True):
            scale = p.grad.abs().max().clamp(min=1e-6)
            difference = ((fast_p.grad - p.grad).abs().max() / scale).item()
            assert difference < (3e-2 if bf16 else 1e-4), name


def test_only_plain_thin_layers_are_padded():
    layers = nn.Sequential(
        nn.Conv2d(8, 4, 3),  # input channels already a multiple of 8
        nn.Conv2d(3, 8, 3, groups=1, padding_mode="reflect"),  # not zero padding
        nn.Conv2d(4, 4, 3, groups=2),  # grouped
        nn.ConvTranspose2d(8, 3, 3),  # thin output: padded
        nn.Conv2d(3, 16, 3),  # thin input: padded
    )
    assert pad_thin_convs(layers, torch.contiguous_format) == 2
    assert [type(m).__name__ for m in layers] == [
        "Conv2d", "Conv2d", "Conv2d", "PaddedConvTranspose2d", "PaddedConv2d",
    ]  # fmt: skip
    spectral = Discriminator(spectral_norm=True)  # parametrised classes keep their forward
    assert pad_thin_convs(spectral, torch.contiguous_format) == 0


def test_padded_conv_transpose_keeps_output_size():
    torch.manual_seed(0)
    layer = nn.ConvTranspose2d(16, 1, 5, 2, 2, bias=True)
    fast = copy.deepcopy(layer)
    pad_thin_convs(fast, torch.contiguous_format)
    x = torch.randn(2, 16, 7, 7)
    for size in ([13, 13], [14, 14]):
        torch.testing.assert_close(fast(x, output_size=size), layer(x, output_size=size))


def test_pad_thin_convs_is_ignored_on_the_cpu(tmp_path):
    _, task, _, _ = built([*TINY_GAN, "trainer.pad_thin_convs=true"], tmp_path)
    convs = [m for m in task.discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert not any(isinstance(m, PaddedConv2d) for m in convs)  # oneDNN: padding is slower
