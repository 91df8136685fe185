"""The dense autoencoder matches SPEC section 1 layer by layer."""

import pytest
import torch
from torch import nn

from aegan.models import DenseAutoencoder


def test_article_layers_and_parameter_count():
    net = DenseAutoencoder()
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    sizes = [(m.in_features, m.out_features) for m in linears]
    # encoder 784 -> 64 -> 32, decoder 32 -> 32 -> 64 -> 784 (the article's Dense layers)
    assert sizes == [(784, 64), (64, 32), (32, 32), (32, 64), (64, 784)]
    expected = (784 * 64 + 64) + (64 * 32 + 32) + (32 * 32 + 32) + (32 * 64 + 64) + (64 * 784 + 784)
    assert sum(p.numel() for p in net.parameters()) == expected == 106_448


def test_shapes_and_ranges():
    net = DenseAutoencoder(latent_dim=8, hidden_dims=[128, 64])
    x = torch.rand(5, 1, 28, 28)
    code = net.encode(x)
    assert code.shape == (5, 8)
    assert (code >= 0).all()  # the article's code ends in ReLU
    assert net(x).shape == x.shape  # logits: the task's sigmoid makes them images
    assert net.decode_logits(code).shape == (5, 1, 28, 28)


def test_code_size_is_a_real_parameter_and_rgb_works():
    net = DenseAutoencoder(image_shape=(3, 32, 32), latent_dim=16, code_activation=False)
    assert net.encode(torch.rand(2, 3, 32, 32)).shape == (2, 16)
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 3, 32, 32)


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="latent_dim=0"):
        DenseAutoencoder(latent_dim=0)


def test_bf16_autocast_forward():
    net = DenseAutoencoder()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(torch.rand(4, 1, 28, 28))
    assert torch.isfinite(out.float()).all()
