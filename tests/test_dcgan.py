"""DCGAN generator and discriminator: shapes, parameter counts, init, options, precision."""

import copy
import re

import pytest
import torch
from torch import nn

from aegan.errors import ConfigError
from aegan.models.dcgan import Discriminator, Generator, dcgan_init_, generator_layout

BATCH = 4


def num_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    ("image_shape", "layout"),
    [((1, 28, 28), (7, 2)), ((3, 32, 32), (8, 2)), ((3, 64, 64), (8, 3))],
)
def test_generator_and_discriminator_shapes(image_shape, layout):
    torch.manual_seed(0)
    assert generator_layout(image_shape[1]) == layout
    generator = Generator(image_shape=image_shape)
    discriminator = Discriminator(image_shape=image_shape)
    images = generator(torch.randn(BATCH, 100))
    assert images.shape == (BATCH, *image_shape)
    assert images.min() >= -1.0 and images.max() <= 1.0
    logits = discriminator(images)
    assert logits.shape == (BATCH,)
    assert torch.isfinite(logits).all()
    assert max(discriminator.feature_shape[1:]) <= 8


def test_64x64_adds_a_stage_with_halved_channels():
    generator = Generator(image_shape=(3, 64, 64))
    discriminator = Discriminator(image_shape=(3, 64, 64))
    assert generator.widths == (256, 128, 128, 64)
    assert discriminator.feature_shape == (256, 8, 8)  # 64 -> 32 -> 16 -> 8, channels doubling


def test_default_generator_parameter_count():
    # 28x28x1, latent 100, start 7x7, channels (256, 128, 128), 5x5 kernels, no conv biases
    linear = 100 * (7 * 7 * 256)  # 1,254,400
    batch_norm_1d = 2 * (7 * 7 * 256)  # 25,088 (weight + bias)
    conv_t1 = 256 * 128 * 5 * 5  # 819,200
    batch_norm_1 = 2 * 128  # 256
    conv_t2 = 128 * 128 * 5 * 5  # 409,600
    batch_norm_2 = 2 * 128  # 256
    conv_t_out = 128 * 1 * 5 * 5  # 3,200
    expected = linear + batch_norm_1d + conv_t1 + batch_norm_1 + conv_t2 + batch_norm_2 + conv_t_out
    assert expected == 2_512_000
    assert num_params(Generator()) == expected


def test_default_discriminator_parameter_count():
    # 28x28x1 -> 14x14x64 -> 7x7x128 -> 1, 5x5 kernels with biases
    conv1 = 1 * 64 * 5 * 5 + 64  # 1,664
    conv2 = 64 * 128 * 5 * 5 + 128  # 204,928
    linear = 128 * 7 * 7 + 1  # 6,273
    expected = conv1 + conv2 + linear
    assert expected == 212_865
    assert num_params(Discriminator()) == expected
    assert num_params(Discriminator(spectral_norm=True)) == expected


@pytest.mark.parametrize(
    ("size", "message"),
    [(30, "data.image_size=30 cannot be reached by the generator: at this size it must be "
          "divisible by 4 (the nearest: 28 or 32)"),
     (36, "divisible by 8 (the nearest: 32 or 40)"),
     (6, "divisible by 4 (the nearest: 4 or 8)"),
     (1000, "divisible by 128 (the nearest: 896 or 1024)"),
     ((28, 32), "image size 28x32: the generator makes square images")],
)  # fmt: skip
def test_unreachable_sizes_name_the_data_setting_and_the_nearest_sizes(size, message):
    height, width = (size, size) if isinstance(size, int) else size
    with pytest.raises(ConfigError, match=re.escape(message)):
        generator_layout(size)
    with pytest.raises(ConfigError, match=re.escape(message)):
        Generator(image_shape=(1, height, width))
    for nearest in map(int, re.findall(r"\d+", message.split("nearest: ")[-1])):
        generator_layout(nearest)  # each size offered is one it can reach


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    generator = Generator()
    discriminator = Discriminator()
    conv_weight = generator.upsample[0].weight  # 819,200 values
    assert conv_weight.mean().abs() < 1e-3
    assert conv_weight.std().item() == pytest.approx(0.02, rel=0.02)
    assert discriminator.features[3].weight.std().item() == pytest.approx(0.02, rel=0.02)
    batch_norm = generator.project[1]  # BatchNorm1d(12544)
    assert batch_norm.weight.mean().item() == pytest.approx(1.0, abs=1e-3)
    assert batch_norm.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert torch.count_nonzero(batch_norm.bias) == 0
    assert torch.count_nonzero(discriminator.head[1].bias) == 0

    layer = dcgan_init_(nn.Conv2d(8, 8, 3))
    assert torch.count_nonzero(layer.bias) == 0


def test_spectral_norm_discriminator():
    torch.manual_seed(0)
    discriminator = Discriminator(spectral_norm=True)
    parametrized = [
        m for m in discriminator.modules() if torch.nn.utils.parametrize.is_parametrized(m)
    ]
    assert len(parametrized) == 3  # two convs and the linear head
    images = torch.rand(BATCH, 1, 28, 28) * 2 - 1
    logits = discriminator(images)
    assert logits.shape == (BATCH,)
    assert torch.isfinite(logits).all()
    logits.sum().backward()
    original = discriminator.head[1].parametrizations.weight.original
    assert original.grad is not None and torch.isfinite(original.grad).all()


def test_bf16_autocast_and_channels_last():
    torch.manual_seed(0)
    generator = Generator().to(memory_format=torch.channels_last)
    discriminator = Discriminator().to(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        images = generator(torch.randn(BATCH, 100))
        logits = discriminator(images.contiguous(memory_format=torch.channels_last))
    assert images.shape == (BATCH, 1, 28, 28)
    assert logits.shape == (BATCH,)
    assert torch.isfinite(logits.float()).all()
    logits.float().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in generator.parameters())


def test_eval_mode_is_deterministic():
    torch.manual_seed(0)
    generator, discriminator = Generator().eval(), Discriminator().eval()
    z = torch.randn(2, 100)
    assert torch.equal(generator(z), generator(z))
    images = generator(z)
    assert torch.equal(discriminator(images), discriminator(images))


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_channels_last_discriminator_computes_what_the_nchw_one_does(spectral_norm):
    # NHWC features are flattened in memory order against a reordered head weight
    torch.manual_seed(0)
    nchw = Discriminator(dropout=0.0, spectral_norm=spectral_norm)
    nhwc = copy.deepcopy(nchw).to(memory_format=torch.channels_last)
    images = torch.rand(BATCH, 1, 28, 28) * 2 - 1
    with torch.no_grad():  # eval: no power iteration of spectral norm here
        features = nhwc.eval().features(images.contiguous(memory_format=torch.channels_last))
    assert not features.is_contiguous()  # the NHWC path is the one under test
    nhwc.train()
    expected, logits = nchw(images), nhwc(images.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(logits, expected)
    expected.sum().backward()
    logits.sum().backward()
    for a, b in zip(nchw.parameters(), nhwc.parameters(), strict=True):
        torch.testing.assert_close(b.grad, a.grad)
