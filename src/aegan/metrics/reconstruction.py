"""Autoencoder metrics: pixel fidelity (PSNR, SSIM, BCE), a linear probe on the codes, and the
PCA reconstruction baseline an autoencoder of the same code size should beat.

Images are tensors (N, C, H, W): uint8 in [0, 255] or floats in [0, 1] (psnr and ssim: in
[0, data_range]); anything else is refused in one line (``aegan.metrics.arguments``). SSIM is
hand-written (a Gaussian-window conv, ~15 lines) rather than taken from torchmetrics, so the
package needs no extra dependency; the tests check it against torchmetrics'
``structural_similarity_index_measure`` when that is installed (they agree to ~1e-6).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from aegan.metrics.arguments import (
    feature_pair,
    image_pair,
    integer,
    labelled,
    labels,
    number,
    unit_images,
)

CODES = ("train_codes", "test_codes")  # the probe's two sets of codes, as its arguments name them


def psnr(x: torch.Tensor, y: torch.Tensor, *, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB, per image then averaged over the batch; images uint8
    in [0, 255] or floats in [0, ``data_range``].

    The per-image MSE (at the floats' scale) is floored at 1e-10 (100 dB for data_range 1),
    so identical images give a large finite value and one perfect image cannot turn the
    batch mean into inf.
    """
    x, y = image_pair(x, y, "psnr", data_range=data_range)  # (N, C, H, W) in [0, 1]
    mse = (x - y).square().flatten(1).mean(dim=1) * data_range**2  # (N,)
    return (10 * torch.log10(data_range**2 / mse.clamp(min=1e-10))).mean().item()


def _gaussian_band(length: int, size: int, sigma: float) -> torch.Tensor:
    """(length - size + 1, length) float64 matrix whose row i holds a normalised 1-d Gaussian
    at columns i..i+size-1: ``band @ v`` is the valid 1-d Gaussian filter of ``v``."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    band = torch.zeros(length - size + 1, length, dtype=torch.float64)
    for i in range(length - size + 1):
        band[i, i : i + size] = g
    return band


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
) -> float:
    """Structural similarity (Wang et al. 2004): Gaussian window 11, sigma 1.5, K1=0.01,
    K2=0.03, local statistics over the valid region (no padding), mean over pixels, channels
    and then the batch; images uint8 in [0, 255] or floats in [0, ``data_range``], computed
    in float64 at [0, 1] (SSIM is the same for images and range scaled together). The
    Gaussian window is separable, so a local mean is two banded matrix products,
    ``rows @ t @ cols.T`` (one depthwise 11x11 convolution in float64 is 5x slower)."""
    x, y = image_pair(x, y, "ssim", data_range=data_range)  # (N, C, H, W) in [0, 1]
    height, width = x.shape[-2:]
    side = min(height, width)
    window = f"the window's side, an integer from 1 to the images' {side}"
    window_size = integer("window_size", window_size, low=1, high=side, meaning=window)
    sigma = number("sigma", sigma, low=0, meaning="the window's Gaussian spread, a number > 0")
    rows = _gaussian_band(height, window_size, sigma).to(x.device)  # (H', H)
    cols = _gaussian_band(width, window_size, sigma).to(x.device).T  # (W, W')

    def local_mean(t: torch.Tensor) -> torch.Tensor:
        return rows @ t @ cols  # (N, C, H-k+1, W-k+1)

    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x = local_mean(x * x) - mu_x**2
    var_y = local_mean(y * y) - mu_y**2
    cov_xy = local_mean(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2  # at the images' [0, 1] scale
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    return ssim_map.flatten(1).mean(dim=1).mean().item()


def bce(x: torch.Tensor, y: torch.Tensor) -> float:
    """Binary cross-entropy of reconstruction probabilities x against targets y in [0, 1],
    mean per pixel (multiply by C*H*W for the per-image sum). Logs are clamped at -100.
    Either may be uint8 in [0, 255] instead."""
    x, y = image_pair(x, y, "bce")
    return F.binary_cross_entropy(x, y).item()


def linear_probe_accuracy(
    train_codes: torch.Tensor,
    train_labels: torch.Tensor,
    test_codes: torch.Tensor,
    test_labels: torch.Tensor,
    *,
    epochs: int = 100,
    seed: int = 0,
    weight_decay: float = 1e-3,
) -> float:
    """Test accuracy of multinomial logistic regression on codes (N, D), standardised with the
    training mean and std. Full-batch L-BFGS (strong Wolfe line search) for ``epochs``
    iterations with an L2 penalty, in float64 on the CPU: deterministic for a given seed.
    Codes of more dimensions are flattened (raw pixels); labels are class ids (N,) of an
    integer dtype, one per code."""
    taker = "linear_probe_accuracy"
    flat = (
        c.flatten(1) if torch.is_tensor(c) and c.dim() > 2 else c for c in (train_codes, test_codes)
    )
    train_codes, test_codes = (codes.cpu() for codes in feature_pair(*flat, CODES, taker))
    train_labels = labelled("train_labels", labels("train_labels", train_labels, taker),
                            train_codes, "train_codes", taker)  # fmt: skip
    test_labels = labelled("test_labels", labels("test_labels", test_labels, taker),
                           test_codes, "test_codes", taker)  # fmt: skip
    epochs = integer("epochs", epochs, low=1, meaning="L-BFGS's iterations, an integer >= 1")
    seed = integer("seed", seed, low=0, high=2**63 - 1, meaning="an integer from 0 to 2**63 - 1")
    weight_decay = number("weight_decay", weight_decay, low=0, strict=False,
                          meaning="the L2 penalty, a number >= 0")  # fmt: skip
    mean, std = train_codes.mean(dim=0), train_codes.std(dim=0).clamp(min=1e-8)
    train_codes, test_codes = (train_codes - mean) / std, (test_codes - mean) / std
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1

    generator = torch.Generator().manual_seed(seed)
    weight = 0.01 * torch.randn(
        train_codes.shape[1], num_classes, generator=generator, dtype=torch.float64
    )  # (D, num_classes)
    weight.requires_grad_()
    bias = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias], max_iter=epochs, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(train_codes @ weight + bias, train_labels)
        loss = loss + weight_decay * weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        predictions = (test_codes @ weight + bias).argmax(dim=1)
    return (predictions == test_labels).double().mean().item()


def _flat_unit(name: str, images: Any) -> torch.Tensor:
    """Images (``unit_images``) as (N, D) float64 in [0, 1] on the CPU: floats in [0, 255]
    gave a PCA MSE of 1733 for 0.027."""
    return unit_images(name, images, "PCA").flatten(1).cpu()


def fit_pca(train_x: torch.Tensor, *, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean (D,), components (D, dim)) of the top-``dim`` principal components of the
    training images (uint8 (N, ...) or float in [0, 1], flattened per image), float64.

    Components are the top eigenvectors of the float64 training covariance (D x D) where
    there are at least as many images as pixels, faster than an SVD of the (N, D) data and
    exact to float64 precision; with fewer images (large colour images: D = 12,288 at
    64x64), the top right singular vectors of the data, N x N work where the covariance's
    eigenvectors would take minutes and gigabytes. Either way the strongest comes last;
    fewer than ``dim`` where the images span fewer directions.
    """
    dim = integer("dim", dim, low=0, meaning="the number of components must be an integer >= 0")
    train = _flat_unit("train_x", train_x)
    mean = train.mean(dim=0)
    centred = train - mean  # (N, D)
    if len(centred) < centred.shape[1]:
        _, _, right = torch.linalg.svd(centred, full_matrices=False)  # (N, D), descending
        return mean, right[:dim].flip(0).T  # (D, dim)
    covariance = centred.T @ centred / (train.shape[0] - 1)  # (D, D)
    _, eigenvectors = torch.linalg.eigh(covariance)  # ascending eigenvalues
    components = eigenvectors[:, -dim:] if dim > 0 else eigenvectors[:, :0]  # (D, dim)
    return mean, components


def pca_baseline(train_x: torch.Tensor, test_x: torch.Tensor, *, dim: int) -> float:
    """Test MSE (mean per pixel) of reconstructing test images from the top-``dim`` principal
    components fitted on the training images (see ``fit_pca``)."""
    mean, components = fit_pca(train_x, dim=dim)
    test = _flat_unit("test_x", test_x)
    if test.shape[1] != len(mean):  # (M, D) against the training images' D
        raise ValueError(
            f"test_x of shape {tuple(test_x.shape)}: PCA takes test images of the training "
            f"images' shape {tuple(train_x.shape[1:])}"
        )
    codes = (test - mean) @ components  # (M, dim)
    reconstruction = codes @ components.T + mean
    return (reconstruction - test).square().mean().item()
