"""Metrics on real Fashion-MNIST subsets and on distributions with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from aegan.metrics import (
    bce,
    class_histogram_stats,
    frechet_distance,
    frechet_distance_from_stats,
    kernel_inception_distance,
    linear_probe_accuracy,
    pca_baseline,
    prdc,
    psnr,
    ssim,
)

pytestmark = pytest.mark.usefixtures("one_thread_module")


def _noise_like(images: torch.Tensor, std: float, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return std * torch.randn(images.shape, generator=generator, dtype=images.dtype)


def _project(images: torch.Tensor, dim: int = 32) -> torch.Tensor:
    """Feature stand-in without a trained network: a fixed random projection of the pixels."""
    projection = torch.randn(28 * 28, dim, generator=torch.Generator().manual_seed(0)) / 28
    return images.flatten(1).float() / 255 @ projection  # (N, dim)


@pytest.fixture(scope="module")
def pixel_feats(fashion) -> dict[str, torch.Tensor]:
    real = _project(fashion["train_x"][:4000])
    noise = torch.randint(0, 256, (2000, 1, 28, 28), generator=torch.Generator().manual_seed(1))
    return {"a": real[:2000], "b": real[2000:], "noise": _project(noise)}


# --- Frechet distance and KID ---------------------------------------------------------------


def test_frechet_distance_of_a_set_with_itself_is_zero(pixel_feats):
    feats = pixel_feats["a"]
    scale = torch.cov(feats.double().T).trace().item()
    assert abs(frechet_distance(feats, feats)) < 1e-6 * scale


def test_frechet_distance_ranks_real_halves_far_below_noise(pixel_feats):
    halves = frechet_distance(pixel_feats["a"], pixel_feats["b"])
    noise = frechet_distance(pixel_feats["a"], pixel_feats["noise"])
    assert 0 < halves < 0.05 * noise


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    f64 = {"dtype": torch.float64}
    mu1, mu2 = torch.tensor([0.0, 1.0, -2.0], **f64), torch.tensor([1.0, 1.0, 0.0], **f64)
    var1, var2 = torch.tensor([1.0, 4.0, 0.25], **f64), torch.tensor([2.0, 1.0, 0.25], **f64)
    expected = ((mu1 - mu2) ** 2).sum() + (var1 + var2 - 2 * (var1 * var2).sqrt()).sum()
    exact = frechet_distance_from_stats(mu1, var1.diag(), mu2, var2.diag())
    assert exact == pytest.approx(expected.item(), rel=1e-12)
    # And from samples of those Gaussians, up to sampling error.
    generator = torch.Generator().manual_seed(0)
    a = mu1 + var1.sqrt() * torch.randn(50_000, 3, generator=generator, dtype=torch.float64)
    b = mu2 + var2.sqrt() * torch.randn(50_000, 3, generator=generator, dtype=torch.float64)
    assert frechet_distance(a, b) == pytest.approx(expected.item(), rel=0.02)


def test_kid_of_a_set_with_itself_is_near_zero_and_positive_for_noise(pixel_feats):
    same_mean, same_std = kernel_inception_distance(
        pixel_feats["a"], pixel_feats["a"], subsets=20, subset_size=500
    )
    halves_mean, _ = kernel_inception_distance(
        pixel_feats["a"], pixel_feats["b"], subsets=20, subset_size=500
    )
    noise_mean, noise_std = kernel_inception_distance(
        pixel_feats["a"], pixel_feats["noise"], subsets=20, subset_size=500
    )
    assert abs(same_mean) < 0.01 * noise_mean
    assert abs(halves_mean) < 0.01 * noise_mean
    assert noise_mean > 10 * noise_std > 0
    # other subsets, other estimates: a spread, but small next to a real difference
    assert 0 < same_std < 0.01 * noise_mean


def test_kid_clips_subset_size_and_is_seeded(pixel_feats):
    small = pixel_feats["noise"][:50]
    first = kernel_inception_distance(pixel_feats["a"], small, subsets=5, subset_size=1000)
    second = kernel_inception_distance(pixel_feats["a"], small, subsets=5, subset_size=1000)
    assert first == second and first[0] > 0


# --- precision, recall, density, coverage ---------------------------------------------------


def test_prdc_of_identical_sets_is_one():
    feats = torch.randn(1500, 16, generator=torch.Generator().manual_seed(0))
    scores = prdc(feats, feats.clone(), k=3, chunk_size=256)
    for name in ("precision", "recall", "coverage", "density"):
        assert scores[name] == pytest.approx(1.0, abs=1e-9), name


def test_prdc_of_far_apart_clouds_is_zero():
    generator = torch.Generator().manual_seed(0)
    real = torch.randn(800, 16, generator=generator)
    fake = torch.randn(600, 16, generator=generator) + 100.0
    assert prdc(real, fake, k=3) == {
        "precision": 0.0,
        "recall": 0.0,
        "density": 0.0,
        "coverage": 0.0,
    }


def test_prdc_separates_fidelity_from_diversity():
    """Fakes on one half of the real cloud: high precision, low recall/coverage."""
    generator = torch.Generator().manual_seed(0)
    real = torch.randn(2000, 8, generator=generator)
    fake = torch.randn(2000, 8, generator=generator)
    fake[:, 0] = fake[:, 0].abs()  # only the x0 > 0 half of the real support
    scores = prdc(real, fake, k=3)
    assert scores["precision"] > 0.8
    assert scores["recall"] < 0.7 and scores["coverage"] < 0.7


# --- class histogram ------------------------------------------------------------------------


def test_class_histogram_uniform_and_collapsed():
    real = torch.arange(10).repeat(100)
    uniform = class_histogram_stats(torch.arange(10).repeat(50), real, 10)
    assert uniform["histogram"] == [50] * 10
    assert uniform["entropy"] == pytest.approx(math.log(10))
    assert uniform["classes_covered"] == 10
    assert uniform["kl_to_real"] == pytest.approx(0.0, abs=1e-9)

    collapsed = class_histogram_stats(torch.full((500,), 3), real, 10)
    assert collapsed["histogram"] == [0, 0, 0, 500, 0, 0, 0, 0, 0, 0]
    assert collapsed["entropy"] == pytest.approx(0.0)
    assert collapsed["classes_covered"] == 1
    assert collapsed["kl_to_real"] == pytest.approx(math.log(10), rel=1e-6)


def test_class_histogram_counts_only_classes_above_the_threshold():
    # 991 samples in class 0, 9 in class 1: class 1 has 9 < 0.1 * 1000 / 10 = 10.
    pred = torch.cat([torch.zeros(991), torch.ones(9)]).long()
    stats = class_histogram_stats(pred, torch.arange(10), 10)
    assert stats["classes_covered"] == 1


def reference_class_stats(pred, real, num_classes, min_share=0.1, eps=1e-8) -> dict:
    """The docstring's definitions in plain Python."""
    counts = [pred.count(c) for c in range(num_classes)]
    real_counts = [real.count(c) for c in range(num_classes)]
    p = [c / len(pred) for c in counts]
    q = [c / len(real) for c in real_counts]
    return {
        "histogram": counts,
        "entropy": -sum(pi * math.log(pi) for pi in p if pi > 0),
        "max_entropy": math.log(num_classes),
        "classes_covered": sum(c >= min_share * len(pred) / num_classes for c in counts),
        "kl_to_real": sum(
            pi * math.log((pi + eps) / (qi + eps)) for pi, qi in zip(p, q, strict=True)
        ),
    }


@pytest.mark.parametrize("seed", range(3))
def test_class_histogram_matches_the_definitions(seed):
    generator = torch.Generator().manual_seed(seed)
    # uneven predictions over 7 of 8 classes; real labels over classes 0..5 only, so class 6
    # has generated samples but no real ones (KL then rests on eps) and class 7 has neither
    pred = torch.multinomial(
        torch.tensor([5.0, 1, 3, 0.2, 2, 4, 1, 0]), 300, True, generator=generator
    )
    real = torch.randint(0, 6, (200,), generator=generator)
    expected = reference_class_stats(pred.tolist(), real.tolist(), 8, min_share=0.5, eps=1e-6)
    stats = class_histogram_stats(pred, real, 8, min_share=0.5, eps=1e-6)
    assert stats.pop("histogram") == expected.pop("histogram")
    assert stats == pytest.approx(expected, rel=1e-12)
    assert 0 < stats["classes_covered"] < 7  # the threshold is doing something


def test_class_histogram_edge_of_the_share_and_tiny_sets():
    # 100 samples over 10 classes, min_share 0.1: a class needs >= 1 sample; exactly 1 counts
    pred = torch.tensor([0] * 91 + list(range(1, 10)))
    assert class_histogram_stats(pred, torch.arange(10), 10)["classes_covered"] == 10
    # one predicted label is enough; the real labels may be as few
    single = class_histogram_stats(torch.tensor([2]), torch.tensor([2]), 3)
    assert single["histogram"] == [0, 0, 1] and single["kl_to_real"] == pytest.approx(0.0)
    assert single["max_entropy"] == pytest.approx(math.log(3))


def test_class_histogram_rejects_labels_outside_the_classes_and_empty_predictions():
    ok = torch.tensor([0, 1, 2])
    for pred, real in ((torch.tensor([0, 3]), ok), (ok, torch.tensor([3, 0]))):
        with pytest.raises(ValueError, match=r"_labels with ids from 0 to 3: .* in \[0, 3\)$"):
            class_histogram_stats(pred, real, 3)
    with pytest.raises(ValueError, match=r"^pred_labels of shape \(0,\): .* at least one"):
        class_histogram_stats(torch.tensor([], dtype=torch.long), ok, 3)


# --- reconstruction metrics -----------------------------------------------------------------


@pytest.fixture(scope="module")
def test_images(fashion) -> torch.Tensor:
    return fashion["test_x"][:64].float() / 255  # (64, 1, 28, 28) in [0, 1]


def test_psnr_and_ssim_of_identical_and_noisy_images(test_images):
    noisy = (test_images + _noise_like(test_images, 0.1)).clamp(0, 1)
    assert ssim(test_images, test_images) == pytest.approx(1.0, abs=1e-9)
    assert psnr(test_images, test_images) >= 99.0
    assert ssim(test_images, noisy) < 0.9
    assert 15 < psnr(test_images, noisy) < 25  # ~20 dB for sigma 0.1 before clamping


def test_ssim_of_constant_images_matches_closed_form():
    # No local variance: SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    a, b, c1 = 0.2, 0.7, 0.01**2
    x = torch.full((2, 3, 16, 16), a, dtype=torch.float64)
    y = torch.full((2, 3, 16, 16), b, dtype=torch.float64)
    assert ssim(x, y) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-9)


def test_ssim_equals_the_two_dimensional_window_on_non_square_rgb():
    # the separable (banded-matmul) local means against one depthwise 11x11 Gaussian conv
    x = torch.rand(8, 3, 20, 17, generator=torch.Generator().manual_seed(0))
    y = (x + 0.1 * torch.rand(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5**2))
    window = (g[:, None] * g[None, :] / g.sum() ** 2).expand(3, 1, 11, 11)

    def local_mean(t: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.conv2d(t, window, groups=3)

    xd, yd = x.double(), y.double()
    mu_x, mu_y = local_mean(xd), local_mean(yd)
    var_x, var_y = local_mean(xd * xd) - mu_x**2, local_mean(yd * yd) - mu_y**2
    cov = local_mean(xd * yd) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    expected = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    assert ssim(x, y) == pytest.approx(expected.mean().item(), abs=1e-12)


def test_ssim_matches_torchmetrics_on_the_valid_region(test_images):
    """torchmetrics 1.9 averages its SSIM map over a reflect-padded border as well; its map
    cropped by the window radius is Wang et al.'s valid-region map, which ``ssim`` averages."""
    from torchmetrics.functional import image  # a dev dependency: a missing one fails here

    noisy = (test_images + _noise_like(test_images, 0.2)).clamp(0, 1)
    _, ssim_map = image.structural_similarity_index_measure(
        noisy.double(), test_images.double(), data_range=1.0, return_full_image=True
    )  # (N, C, H, W)
    reference = ssim_map[..., 5:-5, 5:-5].mean().item()
    assert ssim(noisy, test_images) == pytest.approx(reference, abs=1e-9)


def test_bce_of_half_probabilities_is_log_two(test_images):
    assert bce(torch.full_like(test_images, 0.5), test_images) == pytest.approx(math.log(2))


def test_pca_baseline_beats_the_mean_image(fashion):
    train, test = fashion["train_x"][:2000], fashion["test_x"][:500]
    mean_image_mse = pca_baseline(train, test, dim=0)
    expected = (test.float() / 255 - train.float().mean(0) / 255).square().mean().item()
    assert mean_image_mse == pytest.approx(expected, rel=1e-5)
    assert pca_baseline(train, test, dim=32) < pca_baseline(train, test, dim=8) < mean_image_mse


def test_linear_probe_on_raw_pixels_beats_chance(fashion):
    args = (fashion["train_x"][:2000], fashion["train_y"][:2000])
    test = (fashion["test_x"][:1000], fashion["test_y"][:1000])
    accuracy = linear_probe_accuracy(*args, *test, epochs=20, seed=0)
    assert accuracy > 0.7  # chance is 0.1
    assert linear_probe_accuracy(*args, *test, epochs=20, seed=0) == accuracy
