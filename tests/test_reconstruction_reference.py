"""PSNR, SSIM, BCE, the PCA baseline and the linear probe against independent references
(numpy formulas, torchmetrics, an SVD, scipy's optimiser), on random data where every part of
each formula changes the answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchmetrics.functional import image  # the reference SSIM (a dev dependency)

from aegan.metrics import bce, linear_probe_accuracy, pca_baseline, psnr, ssim


def uneven_pair(seed: int = 0, shape=(4, 2, 16, 12)) -> tuple[torch.Tensor, torch.Tensor]:
    """Images in [0, 1] and noisy copies whose noise level differs from image to image."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=generator, dtype=torch.float64)
    levels = torch.tensor([0.02, 0.1, 0.3, 0.05], dtype=torch.float64)[: shape[0]]
    noise = (
        torch.randn(shape, generator=generator, dtype=torch.float64) * levels[:, None, None, None]
    )
    return x, (x + noise).clamp(0, 1)


# --- PSNR -----------------------------------------------------------------------------------


@pytest.mark.parametrize("data_range", [1.0, 255.0])
def test_psnr_is_the_mean_of_per_image_psnrs(data_range):
    x, y = uneven_pair()
    x, y = x * data_range, y * data_range
    mse = ((x.numpy() - y.numpy()) ** 2).reshape(len(x), -1).mean(axis=1)
    per_image = 10 * np.log10(data_range**2 / mse)
    assert per_image.std() > 1  # the per-image mean differs from the PSNR of the mean MSE
    assert psnr(x, y, data_range=data_range) == pytest.approx(per_image.mean(), rel=1e-12)
    assert psnr(x.float(), y.float(), data_range=data_range) == pytest.approx(
        per_image.mean(), rel=1e-5
    )


def test_psnr_floors_the_mse_of_identical_images_at_1e_10():
    x, y = uneven_pair()
    assert psnr(x, x) == pytest.approx(100.0, rel=1e-12)  # 10 log10(1 / 1e-10)
    floored = 10 * np.log10(255.0**2 / 1e-10)  # the floor is on the MSE, not on the dB
    assert psnr(x * 255, x * 255, data_range=255.0) == pytest.approx(floored, rel=1e-12)
    # one perfect image in a batch: the mean of 100 dB and the others, not inf
    mixed = y.clone()
    mixed[0] = x[0]
    others = [psnr(x[i : i + 1], y[i : i + 1]) for i in range(1, 4)]
    assert psnr(x, mixed) == pytest.approx((100.0 + sum(others)) / 4, rel=1e-12)


@pytest.mark.parametrize("metric", [psnr, ssim, bce])
def test_metrics_take_two_4d_tensors_of_one_shape(metric):
    x = torch.rand(2, 1, 16, 16)
    for a, b in ((x, x[..., :15]), (x[0], x[0]), (x[:, 0], x[:, 0])):
        with pytest.raises(ValueError, match=rf"^x of shape \(\d.*: {metric.__name__} takes "):
            metric(a, b)


# --- SSIM -----------------------------------------------------------------------------------


def torchmetrics_ssim(x, y, *, kernel_size=11, sigma=1.5, data_range=1.0) -> float:
    """torchmetrics' SSIM map cropped to the valid region (it pads the border; Wang et al. do
    not), averaged as ``ssim`` averages. Its Gaussian window spans int(3.5 sigma + 0.5) pixels
    each side whatever kernel_size says, so only matching pairs compare."""
    assert int(3.5 * sigma + 0.5) * 2 + 1 == kernel_size

    _, ssim_map = image.structural_similarity_index_measure(
        x, y, kernel_size=kernel_size, sigma=sigma, data_range=data_range, return_full_image=True
    )
    r = kernel_size // 2
    return ssim_map[..., r:-r, r:-r].mean().item()


@pytest.mark.parametrize(("window_size", "sigma"), [(11, 1.5), (9, 1.0), (7, 0.8), (5, 0.6)])
def test_ssim_matches_torchmetrics_for_other_windows_too(window_size, sigma):
    x, y = uneven_pair(shape=(3, 2, 19, 23))  # non-square, multi-channel
    expected = torchmetrics_ssim(x, y, kernel_size=window_size, sigma=sigma)
    assert ssim(x, y, window_size=window_size, sigma=sigma) == pytest.approx(expected, abs=1e-10)


def test_ssim_scales_its_constants_with_the_data_range():
    """SSIM is invariant to scaling both images and the data range together; C1 and C2 scale
    with the range squared. Dark low-contrast images make the constants matter."""
    x, y = uneven_pair(seed=1)
    x, y = 0.05 * x, 0.05 * y
    at_one = ssim(x, y)
    assert ssim(255 * x, 255 * y, data_range=255.0) == pytest.approx(at_one, rel=1e-12)
    expected = torchmetrics_ssim(255 * x, 255 * y, data_range=255.0)
    assert at_one == pytest.approx(expected, abs=1e-10)
    with pytest.raises(ValueError, match=r"^x with values in \[.*floats in \[0, 1\]$"):
        ssim(255 * x, 255 * y)  # the range is not ignored


# --- BCE ------------------------------------------------------------------------------------


def test_bce_is_the_mean_binary_cross_entropy_per_pixel():
    x, y = uneven_pair(seed=2)
    p = x.clamp(0.01, 0.99).numpy()
    target = y.numpy()  # soft targets in [0, 1]
    expected = -(target * np.log(p) + (1 - target) * np.log(1 - p)).mean()
    assert bce(torch.from_numpy(p), y) == pytest.approx(expected, rel=1e-12)


# --- PCA baseline ---------------------------------------------------------------------------


def reference_pca_mse(train: np.ndarray, test: np.ndarray, dim: int) -> float:
    """Top principal directions from an SVD of the centred training data."""
    mean = train.mean(axis=0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    components = vt[:dim].T  # (D, dim)
    reconstruction = (test - mean) @ components @ components.T + mean
    return float(((reconstruction - test) ** 2).mean())


@pytest.fixture(scope="module")
def pca_data() -> tuple[np.ndarray, np.ndarray]:
    """Float images (N, 1, 3, 3) in [0, 1] with a clear spectrum: 9 directions of variances
    from 1 down to 1/81, and a mean far from 0."""
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(9, 9)))
    scales = 0.05 / np.arange(1, 10)

    def draw(n):
        flat = 0.5 + (rng.normal(size=(n, 9)) * scales) @ basis.T
        return np.clip(flat, 0, 1).reshape(n, 1, 3, 3)

    return draw(300), draw(100)


@pytest.mark.parametrize("dim", [0, 1, 3, 8, 9])
def test_pca_baseline_matches_an_svd(pca_data, dim):
    train, test = pca_data
    expected = reference_pca_mse(train.reshape(300, -1), test.reshape(100, -1), dim)
    got = pca_baseline(torch.from_numpy(train), torch.from_numpy(test), dim=dim)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("dim", [0, 1, 4, 5])
def test_pca_of_fewer_images_than_pixels_matches_an_svd(pca_data, dim):
    """Large colour images: the D x D covariance of 64x64 RGB took minutes and gigabytes;
    six images of nine pixels take the data's SVD, with the same components."""
    train, test = pca_data
    expected = reference_pca_mse(train[:6].reshape(6, -1), test.reshape(100, -1), dim)
    got = pca_baseline(torch.from_numpy(train[:6]), torch.from_numpy(test), dim=dim)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_pca_baseline_reads_uint8_as_255ths_and_float_as_is(pca_data):
    train, test = (np.round(a * 255).astype(np.uint8) for a in pca_data)
    expected = reference_pca_mse(train.reshape(300, -1) / 255, test.reshape(100, -1) / 255, 2)
    as_uint8 = pca_baseline(torch.from_numpy(train), torch.from_numpy(test), dim=2)
    as_float = pca_baseline(
        torch.from_numpy(train / 255).float(), torch.from_numpy(test / 255).float(), dim=2
    )
    assert as_uint8 == pytest.approx(expected, rel=1e-9)
    assert as_float == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    ("change", "message"),
    [(lambda train, test: (train * 255, test * 255, 2), "train_x with values in [108.6, 149]: PCA takes images"),
     (lambda train, test: (train, test[:, :, :2], 2), "test_x of shape (100, 1, 2, 3): PCA takes test images of the training images' shape (1, 3, 3)"),
     (lambda train, test: (train[:0], test, 2), "train_x of shape (0, 1, 3, 3): PCA takes images (N, C, H, W), N >= 1"),
     (lambda train, test: (train.numpy(), test, 2), "train_x of type ndarray: PCA takes images"),
     (lambda train, test: ((train * 255).long(), test, 2), "train_x of dtype torch.int64: PCA takes"),
     (lambda train, test: (train, test, -1), "dim=-1: the number of components must be an integer >= 0"),
     (lambda train, test: (train, test, True), "dim=True: the number of components"),
     (lambda train, test: (train, test, 2.0), "dim=2.0: the number of components")],
)  # fmt: skip
def test_pca_baseline_given_what_it_does_not_take_is_one_line(pca_data, change, message):
    """Floats in [0, 255] were taken as [0, 1] (an MSE 65,025 times too big) and dim=-1 as
    all components but one, without a word; other mistakes failed deep in torch."""
    train, test, dim = change(*(torch.from_numpy(images) for images in pca_data))
    with pytest.raises(ValueError) as refused:
        pca_baseline(train, test, dim=dim)
    assert str(refused.value).startswith(message)


# --- linear probe ---------------------------------------------------------------------------


def probe_problem(seed: int = 0):
    """Three unbalanced, overlapping classes in 4 features of very different scales (the probe
    standardises them): codes (N, 4) and labels (N,)."""
    rng = np.random.default_rng(seed)
    sizes = (150, 60, 30)
    centres = np.array([[0.0, 0.0, 0.0, 0.0], [1.2, 0.5, -0.8, 0.0], [-0.6, 1.4, 0.3, 0.9]])
    codes = np.concatenate(
        [c + rng.normal(size=(n, 4)) for c, n in zip(centres, sizes, strict=True)]
    )
    labels = np.concatenate([np.full(n, k) for k, n in enumerate(sizes)])
    return codes * np.array([100.0, 1.0, 0.01, 3.0]) + np.array([5.0, -2.0, 0.0, 40.0]), labels


def reference_probe_logits(train, labels, test, weight_decay):
    """The probe's objective, minimised by scipy: mean cross-entropy of softmax(z W + b) on
    standardised codes z, plus weight_decay ||W||^2 (the bias is not penalised)."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    mean, std = train.mean(axis=0), train.std(axis=0, ddof=1)
    z, z_test = (train - mean) / std, (test - mean) / std
    dim, classes = z.shape[1], labels.max() + 1
    one_hot = np.eye(classes)[labels]

    def objective(params):
        w, b = params[: dim * classes].reshape(dim, classes), params[dim * classes :]
        logits = z @ w + b
        probabilities = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
        loss = -(one_hot * (logits - logsumexp(logits, axis=1, keepdims=True))).sum() / len(z)
        loss += weight_decay * (w**2).sum()
        grad_logits = (probabilities - one_hot) / len(z)
        grad_w = z.T @ grad_logits + 2 * weight_decay * w
        return loss, np.concatenate([grad_w.ravel(), grad_logits.sum(axis=0)])

    start = np.zeros(dim * classes + classes)
    result = minimize(objective, start, jac=True, method="L-BFGS-B", options={"gtol": 1e-12})
    w = result.x[: dim * classes].reshape(dim, classes)
    return z_test @ w + result.x[dim * classes :]


@pytest.mark.parametrize("weight_decay", [None, 0.05])  # None: the default, 1e-3
def test_linear_probe_predicts_what_the_optimum_of_its_objective_predicts(weight_decay):
    """Accuracy against the optimum's own predictions must be exactly 1. Test points whose top
    two logits are within 1e-3 are left out: there converged solutions may legitimately differ."""
    train, labels = probe_problem(0)
    test, _ = probe_problem(1)
    logits = reference_probe_logits(train, labels, test, weight_decay or 1e-3)
    top2 = np.sort(logits, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-3
    predicted = logits.argmax(axis=1)
    assert clear.mean() > 0.95 and len(set(predicted[clear])) == 3  # all classes predicted
    train_t, labels_t = torch.from_numpy(train), torch.from_numpy(labels)
    test_t, expected = torch.from_numpy(test[clear]), torch.from_numpy(predicted[clear])
    options = {} if weight_decay is None else {"weight_decay": weight_decay}
    accuracy = linear_probe_accuracy(train_t, labels_t, test_t, expected, **options)
    assert accuracy == 1.0
    # the accuracy is the share of right answers: one label in ten made wrong
    wrong = expected.clone()
    wrong[::10] = (wrong[::10] + 1) % 3
    accuracy = linear_probe_accuracy(train_t, labels_t, test_t, wrong, **options)
    assert accuracy == pytest.approx(1 - len(wrong[::10]) / len(wrong), abs=1e-15)


def test_linear_probe_runs_the_number_of_iterations_it_is_given():
    """One L-BFGS iteration from the near-zero start is far from the optimum; 100 reach it."""
    train, labels = probe_problem(0)
    test, _ = probe_problem(1)
    expected = torch.from_numpy(reference_probe_logits(train, labels, test, 1e-3).argmax(axis=1))
    args = (torch.from_numpy(train), torch.from_numpy(labels), torch.from_numpy(test), expected)
    assert linear_probe_accuracy(*args, epochs=1) < 0.97 <= linear_probe_accuracy(*args, epochs=100)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_ssim_and_psnr_of_cuda_images_equal_the_cpu_ones():
    x, y = uneven_pair(seed=3)
    assert ssim(x.cuda(), y.cuda()) == pytest.approx(ssim(x, y), abs=1e-12)
    assert psnr(x.cuda(), y.cuda()) == pytest.approx(psnr(x, y), abs=1e-12)
