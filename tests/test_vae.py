"""The VAE family: its objective and bounds against closed forms and quadrature, training,
bitwise resume and evaluation of tiny runs, the binarised protocol, and its settings."""

from __future__ import annotations

import math

import pytest
import torch
from shared_runs import CLASSIFIED, CLASSIFIED_SAMPLES
from torch import nn

from aegan.amp import Amp
from aegan.config import validate_config
from aegan.data import load_data
from aegan.data.batches import DeviceBatches, bernoulli_images
from aegan.engine import load_checkpoint
from aegan.errors import ConfigError
from aegan.metrics.evaluation import Evaluation
from aegan.metrics.scope import Settings
from aegan.models import GaussianEncoderDecoder
from aegan.tasks import VaeTask, build_task
from aegan.tasks.vae import gaussian_kl
from aegan.train import train
from conftest import CPU, TINY_AE, built, compose_config, synthetic_data

TINY_VAE = [o for o in TINY_AE if not o.startswith("evaluate")] + [
    "model=vae",
    "evaluate.at_end=false",
]


def test_kl_is_the_closed_form_of_torch_distributions():
    mean, logvar = torch.randn(5, 3), torch.randn(5, 3)
    q = torch.distributions.Normal(mean, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    torch.testing.assert_close(gaussian_kl(mean, logvar), torch.distributions.kl_divergence(q, p))


class OnePixel(GaussianEncoderDecoder):
    """A 1-pixel, 1-latent VAE whose log p(x) quadrature gives exactly."""

    def __init__(self, *, image_shape, latent_dim: int = 1) -> None:
        super().__init__(image_shape, latent_dim)
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(1, 2))
        self.decoder = nn.Linear(1, 1)
        with torch.no_grad():
            self.encoder[1].weight.copy_(torch.tensor([[1.5], [-0.5]]))
            self.encoder[1].bias.copy_(torch.tensor([-0.7, -0.3]))
            self.decoder.weight.fill_(2.0)
            self.decoder.bias.fill_(-0.5)


def _one_pixel_task() -> VaeTask:
    net = {"_target_": "test_vae.OnePixel"}
    optimizer = {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3}
    return VaeTask(image_shape=(1, 1, 1), net=net, optimizer=optimizer, latent_dim=1)


@pytest.mark.parametrize("pixel", [0.0, 0.3, 1.0])
def test_iwae_bound_reaches_the_exact_likelihood_and_the_elbo_stays_below(pixel):
    # log p(x) = log of the integral of Bern(x | sigmoid(2 z - 0.5)) N(z; 0, 1) dz, by quadrature
    task = _one_pixel_task()
    z = torch.linspace(-12, 12, 200001, dtype=torch.float64)
    logits = 2 * z - 0.5
    log_px_z = pixel * torch.nn.functional.logsigmoid(logits) + (
        1 - pixel
    ) * torch.nn.functional.logsigmoid(-logits)
    log_density = log_px_z - 0.5 * z.square() - 0.5 * math.log(2 * math.pi)
    exact = torch.logsumexp(log_density, 0).item() + math.log(z[1] - z[0])
    x = torch.full((1, 1, 1, 1), pixel)
    torch.manual_seed(0)
    log_w = task.log_importance_weights(x, 200_000)  # (1, k)
    iwae = (torch.logsumexp(log_w, 1) - math.log(200_000)).item()
    elbo = log_w.mean().item()  # the one-sample bound, averaged
    recon, kl = task.elbo_terms(x.expand(200_000, -1, -1, -1))  # one z per copy, analytic KL
    assert iwae == pytest.approx(exact, abs=5e-3)  # the estimate's spread: ~2e-3
    assert elbo < exact - 0.01 and elbo == pytest.approx(-(recon + kl).mean().item(), abs=5e-3)


def test_the_kl_weight_warms_up_on_the_device():
    task = _one_pixel_task()
    task.kl_warmup_steps, task.beta = 4, 2.0
    weights = []
    for _ in range(6):
        weights.append(task.kl_weight().item())
        task.steps.add_(1)
    assert weights == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    assert task.kl_weight().device == task.steps.device


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_a_step_lowers_the_loss_and_the_learned_scale_trains(likelihood, tmp_path, one_thread):
    data = synthetic_data()
    _, task, _, step = built([*TINY_VAE, f"model.likelihood={likelihood}"], tmp_path, data=data)
    batch = data.train_images[:64]
    losses = [step(batch)["train/loss"].item() for _ in range(30)]
    assert losses[-1] < losses[0] - 1.0  # nats per image
    if likelihood == "gaussian":
        assert task.networks["likelihood"].log_scale.item() < 0  # sharper than sigma 1
        assert any(
            p is task.scale.log_scale
            for p in task.optimizers["optimizer"].param_groups[0]["params"]
        )


def test_a_fixed_scale_is_a_buffer_not_a_parameter(tmp_path):
    cfg = compose_config(
        [*TINY_VAE, "model.likelihood=gaussian", "model.gaussian_scale=0.1"], tmp_path
    )
    task = build_task(cfg.model, (1, 28, 28), CPU)
    assert list(task.scale.parameters()) == []
    assert task.scale.log_scale.item() == pytest.approx(math.log(0.1))


def test_a_tiny_vae_trains_resumes_bitwise_and_evaluates(make_cfg):
    tiny = [*TINY_VAE, "data.subset=640", "logger.enabled=false", "model.kl_warmup_steps=15"]
    straight = train(make_cfg(*tiny, "trainer.epochs=2", run="straight"))
    train(make_cfg(*tiny, run="first"))
    first_dir = make_cfg(*tiny, run="first").paths.output_dir
    resumed = train(
        make_cfg(*tiny, "trainer.epochs=2", f"trainer.resume={first_dir}", run="resumed")
    )
    a = load_checkpoint(make_cfg(run="straight").paths.output_dir + "/checkpoints/last.pt")
    b = load_checkpoint(make_cfg(run="resumed").paths.output_dir + "/checkpoints/last.pt")
    assert a["task"]["steps"] == b["task"]["steps"] == 20  # the warm-up clock, saved
    for key, value in a["networks"]["vae"].items():
        assert torch.equal(value, b["networks"]["vae"][key]), key
    assert resumed["val/loss"] == straight["val/loss"] < 560  # it learned (random: ~545-600)
    assert straight["val/neg_elbo"] == pytest.approx(straight["val/recon_nll"] + straight["val/kl"])


def test_the_vae_reports_its_likelihood_and_its_samples(make_cfg, classifier_cache):
    cfg = make_cfg(*TINY_VAE, *CLASSIFIED, "logger.enabled=false", "evaluate.at_end=true",
                   "evaluate.metrics=[elbo,iwae,active_units,reconstruction,fd]",
                   "evaluate.iwae_samples=64", "evaluate.iwae_images=100",
                   f"evaluate.samples={CLASSIFIED_SAMPLES}",
                   f"evaluate.cache_dir={classifier_cache}")  # fmt: skip
    metrics = train(cfg)
    # the tighter bound on the same 100 images; -ELBO of all 10,000 is of other images
    assert metrics["test/iwae_nll"] < metrics["test/iwae_neg_elbo"]
    assert metrics["test/iwae_neg_elbo"] != metrics["test/neg_elbo"]
    assert metrics["test/neg_elbo"] == pytest.approx(metrics["test/recon_nll"] + metrics["test/kl"])
    assert metrics["test/kl"] > 0 and 0 <= metrics["codes/active_units"] <= 32
    assert metrics["test/iwae_k"] == 64 and metrics["test/iwae_images"] == 100
    assert metrics["gen/fd"] > metrics["floor/fd"] and metrics["gen/samples"] == 200


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.beta=-1", "model.beta=-1 is not allowed"),
        ("model.likelihood=poisson", "model.likelihood='poisson' is not allowed"),
        (("model.likelihood=gaussian", "model.gaussian_scale=-0.5"),
         r"model.gaussian_scale=-0.5 is not allowed: it must be a number in \[1e-06, 1000000.0\]"),
        (("model.likelihood=gaussian", "model.gaussian_scale=0"), "model.gaussian_scale=0 is not"),
        ("model.hidden_dims=[64,0]", "model.hidden_dims\\[1\\]=0 is not allowed: it must be an int"),
        ("model.net._target_=aegan.models.DenseAutoencoder", "is not allowed here: the VAE needs an "
         "encoder that gives a mean and a log-variance \\(aegan.models.DenseVAE, ConvVAE\\)"),
        ("model.gaussian_scale=0.5", "model.gaussian_scale=0.5 is not allowed with model.like"
         "lihood=bernoulli.* or leave model.gaussian_scale=null$"),
        ("model.kl_warmup_steps=-3", "model.kl_warmup_steps=-3 is not allowed"),
        ("evaluate.iwae_samples=0", "evaluate.iwae_samples=0 is not allowed"),
        ("data=cifar10", "data.binarize=fixed needs grey images; data=cifar10 has 3 channels"),
        # the final IWAE bound: k x min(iwae_images, test images) decoder passes
        (("evaluate.at_end=true", "evaluate.metrics=[iwae]", "evaluate.iwae_samples=1000000",
          "evaluate.iwae_images=10000000"), "evaluate.iwae_samples=1000000 x evaluate.iwae_images"),
        (("evaluate.at_end=true", "evaluate.iwae_samples=100000"), "is 1e\\+09 decoder passes"),
    ],
)  # fmt: skip
def test_a_vae_setting_that_cannot_work_is_one_line(override, message, tmp_path, monkeypatch):
    monkeypatch.setattr("aegan.train.load_data", lambda *a, **k: pytest.fail("data was read"))
    overrides = [override] if isinstance(override, str) else list(override)
    cfg = compose_config(
        [*TINY_VAE, "trainer.device=cpu", "data.binarize=fixed", *overrides], tmp_path
    )
    with pytest.raises(ConfigError, match=message) as error:
        train(cfg)
    assert "\n" not in str(error.value)


def test_binarised_images_keep_the_grey_level_in_expectation():
    grey = torch.full((200, 1, 28, 28), 64, dtype=torch.uint8)
    binary = bernoulli_images(grey, torch.Generator().manual_seed(0))
    assert set(binary.unique().tolist()) == {0, 255}
    assert binary.float().mean().item() == pytest.approx(64, rel=0.02)
    batches = DeviceBatches(grey, batch_size=50, binarize=True)
    first, again = next(batches.epoch(0)), next(batches.epoch(0))
    assert set(first.unique().tolist()) == {0, 255} and not torch.equal(first, again)


@pytest.mark.parametrize("how", ["fixed", "dynamic"])
def test_the_binarised_protocol_draws_what_it_says(how, tmp_path):
    cfg = compose_config([*TINY_VAE, f"data.binarize={how}"], tmp_path)
    validate_config(cfg)
    data = load_data(cfg.data, data_dir=tmp_path)
    assert set(data.test_images[:100].unique().tolist()) <= {0, 255}
    again = load_data(cfg.data, data_dir=tmp_path)
    assert torch.equal(data.test_images, again.test_images)  # the test set is drawn once, seeded
    pixels, binarize = data.training_pixels
    assert binarize == (how == "dynamic")
    grey = len(pixels[:100].unique()) > 2
    assert grey == (how == "dynamic")  # dynamic: training batches are drawn at each step


def test_the_metrics_read_one_binarised_draw_of_the_training_images_as_of_the_test(tmp_path):
    # the floors, PCA, the probe and the domain classifier compare training images with test
    # images: under dynamic binarisation both are binary, the same draw as under fixed
    def data(how):
        return load_data(compose_config([*TINY_VAE, f"data.binarize={how}"], tmp_path).data,
                         data_dir=tmp_path)  # fmt: skip

    grey, fixed, dynamic = data("none"), data("fixed"), data("dynamic")
    assert set(dynamic.train_images.unique().tolist()) == {0, 255}
    assert torch.equal(dynamic.train_images, fixed.train_images)
    assert torch.equal(dynamic.training_pixels[0], grey.train_images)
    floor = Evaluation(None, dynamic, Settings(samples=100)).floor  # the floors' real images
    assert set(floor.unique().tolist()) == {0, 255}


class GreySampler:
    """A model whose every sample is the grey level 0.3 (a Bernoulli decoder's mean)."""

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.full((n, 1, 28, 28), 0.3)


@pytest.mark.parametrize("how", ["none", "fixed", "dynamic"])
def test_samples_are_measured_binary_against_binary_test_images(how, tmp_path):
    """A grey sample against binary test images in a classifier trained on binary ones
    scored the grey: the test images themselves, shown grey, had FD 39.9 against 3.0."""
    cfg = compose_config([*TINY_VAE, f"data.binarize={how}"], tmp_path)
    data = load_data(cfg.data, data_dir=tmp_path)
    samples = Evaluation(GreySampler(), data, Settings(samples=200)).samples
    if how == "none":
        assert torch.equal(samples, torch.full_like(samples, 0.3))
    else:  # Bernoulli draws of the pixels, seeded: the same each evaluation
        assert set(samples.unique().tolist()) == {0.0, 1.0}
        assert samples.mean().item() == pytest.approx(0.3, abs=0.01)
        again = Evaluation(GreySampler(), data, Settings(samples=200)).samples
        assert torch.equal(samples, again)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 64, 64)])
@pytest.mark.parametrize("model", ["conv_autoencoder", "conv_vae"])
def test_the_convolutional_models_fit_every_image_size(model, shape, tmp_path):
    cfg = compose_config([f"model={model}"], tmp_path)
    task = build_task(cfg.model, shape, CPU)
    task.train(False)
    x = torch.rand(2, *shape)
    assert task.reconstruct(x).shape == (2, *shape)
    assert task.encode(x).shape == (2, 32)
    amp = Amp("fp32", CPU)
    assert task.validate([torch.randint(0, 256, (4, *shape), dtype=torch.uint8)], amp)


def test_the_kl_per_dimension_is_nats_per_image_and_sums_to_the_kl(tmp_path):
    """TensorBoard's histogram held the sum over the validation images, 5,000 times the
    per-image KL it is drawn beside."""
    task = build_task(compose_config(["model=vae"], tmp_path).model, (1, 28, 28), CPU)
    task.train(False)
    images = torch.randint(0, 256, (10, 1, 28, 28), dtype=torch.uint8)
    figures = task.validate([images[:6], images[6:]], Amp("fp32", CPU))
    assert task.kl_per_dim.shape == (32,)
    assert task.kl_per_dim.sum().item() == pytest.approx(figures["val/kl"], rel=1e-5)
    per_dim = task.kl_per_dimension(images.float() / 255)  # what the notebook draws
    torch.testing.assert_close(per_dim, task.kl_per_dim, rtol=1e-5, atol=1e-6)


def test_the_conv_autoencoder_beats_the_dense_one_at_the_same_steps(make_cfg, one_thread):
    tiny = [*TINY_AE, "data.subset=2000", "logger.enabled=false", "trainer.epochs=2"]
    dense = train(make_cfg(*tiny, run="dense"))["val/mse"]
    conv = train(make_cfg(*tiny, "model=conv_autoencoder", "trainer.precision=auto", run="conv"))
    assert conv["val/mse"] < dense  # convolutions see the image as an image
