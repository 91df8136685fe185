"""Autoencoders inside GANs: the adversarial autoencoder, BiGAN/ALI, VAE-GAN and InfoGAN
step as their papers do and report their own metrics (the statistics those metrics use:
tests/test_matching.py; a step moving every network and a bitwise resume, as for every
model: tests/test_every_model.py)."""

from __future__ import annotations

import copy

import pytest
import torch
from test_every_model import MODELS, SMALL_CONV

import aegan
from aegan.data import load_data, normalize
from aegan.errors import ConfigError
from aegan.evaluate import evaluate_task
from aegan.metrics.evaluation import Evaluation
from aegan.metrics.scope import Settings
from aegan.tasks import build_task
from aegan.train import train
from conftest import CPU, TINY_AE, built, compose_config, synthetic_data

TINY = [o for o in TINY_AE if not o.startswith("evaluate")] + ["evaluate.at_end=false"]


def test_the_aae_encoder_steps_on_the_adversarial_gradient_alone(tmp_path, one_thread):
    # the reconstruction phase's encoder gradients must be spent before the encoder, as D's
    # generator, steps: its gradients then are exactly those of the generator loss
    data = synthetic_data()
    _, task, _, step = built([*TINY, "model=aae", "trainer.direct_optimizer_step=false"],
                             tmp_path, data=data)  # fmt: skip
    x = data.train_images[:64].float() / 255
    seen = {}
    encoder_step = task.optimizers["encoder"].step

    def recording_step(*args, **kwargs):
        seen["grads"] = [p.grad.clone() for p in task.encoder_params]
        loss = task.gan.generator(task.discriminator(task.net.encode(x)))
        seen["expected"] = torch.autograd.grad(loss, task.encoder_params)
        return encoder_step(*args, **kwargs)

    task.optimizers["encoder"].step = recording_step
    step(data.train_images[:64])
    for grad, want in zip(seen["grads"], seen["expected"], strict=True):
        torch.testing.assert_close(grad, want)


@pytest.mark.parametrize("name", ["dcgan", "bigan", "aae_ema", "vae_gan"])
def test_training_mode_leaves_the_averaged_network_in_eval_mode(name, tmp_path):
    overrides = MODELS.get(name, ["model=dcgan", *SMALL_CONV])
    task = build_task(compose_config([*TINY, *overrides], tmp_path).model, (1, 28, 28), CPU)
    averaged = [n for key, n in task.networks.items() if key.endswith("_ema")]
    assert averaged == [task.ema.network]
    task.train(True)
    assert not task.ema.network.training  # its BatchNorm and dropout never in training mode
    assert all(n.training for n in task.networks.values() if n is not task.ema.network)
    task.train(False)
    assert not any(n.training for n in task.networks.values())


@pytest.mark.parametrize(("overrides", "message"), [
    (["model.label_prior=true"], "model.label_prior=true needs model.prior=mixture"),
    (["model.prior=uniform"], "model.prior='uniform' is not allowed"),
    (["model.posterior=laplace"], "model.posterior='laplace' is not allowed"),
    (["model.net._target_=aegan.models.DenseVAE", "~model.net.posterior"],
     r"^model.posterior=deterministic needs a network whose encoder gives the code, and "
     r"model.net._target_=aegan.models.DenseVAE does not; use the model's own "),
])  # fmt: skip
def test_aae_settings_that_cannot_work(overrides, message, tmp_path):
    cfg = compose_config([*TINY, "model=aae", *overrides], tmp_path)
    with pytest.raises(ConfigError, match=message):
        build_task(cfg.model, (1, 28, 28), torch.device("meta"))


@pytest.mark.parametrize(("model", "key"), [
    ("aae", "model.gan_loss"), ("bigan", "model.loss"), ("vae_gan", "model.loss"),
])  # fmt: skip
def test_a_critic_loss_without_its_penalty_is_refused(model, key, tmp_path):
    """These models add no gradient penalty: wgan_gp's critic would be unbounded."""
    cfg = compose_config([*TINY, f"model={model}", f"{key}=wgan_gp"], tmp_path)
    with pytest.raises(ValueError, match=rf"{key}='wgan_gp' .*no gradient penalty.*hinge$"):
        build_task(cfg.model, (1, 28, 28), torch.device("meta"))
    cfg = compose_config([*TINY, f"model={model}", f"{key}=hinge"], tmp_path)
    task = build_task(cfg.model, (1, 28, 28), CPU)
    assert (task.gan if model == "aae" else task.loss).name == "hinge"


def test_a_gaussian_aae_matches_draws_of_its_posterior_to_the_prior(tmp_path, one_thread):
    """With a Gaussian encoder, D and the MMD see draws of q(z|x); the probe, the
    reconstructions and a notebook's ``encode`` see its mean."""
    data = synthetic_data()
    _, task, _, step = built([*TINY, *MODELS["aae_gaussian"]], tmp_path, data=data)
    step(data.train_images[:64])
    x = data.test_images[:300].float() / 255
    mean, logvar = task.net.encode(x)
    torch.testing.assert_close(task.encode(x), mean.detach())
    draws = task.posterior_codes(x, torch.Generator().manual_seed(1))
    again = task.posterior_codes(x, torch.Generator().manual_seed(1))
    assert torch.equal(draws, again) and not torch.equal(draws, task.encode(x))
    noise = (draws - mean) / torch.exp(0.5 * logvar)  # the standard normal draws themselves
    assert noise.std().item() == pytest.approx(1.0, abs=0.05)
    torch.testing.assert_close(task.reconstruct(x), task.decode(mean.detach()))
    evaluation = Evaluation(task, data, Settings(seed=0))
    metrics = evaluation.compute(["prior_match"])
    assert metrics["codes/mmd"] > metrics["codes/mmd_floor"] > 0


def test_the_aae_measures_its_average_autoencoder(tmp_path, one_thread):
    """With ema_decay, codes, reconstructions and samples come from the averaged network,
    and the trained one steps on."""
    data = synthetic_data()
    _, task, _, step = built([*TINY, *MODELS["aae_ema"]], tmp_path, data=data)
    for batch in data.train_images[:192].split(64):
        step(batch)
    task.train(False)
    x = data.test_images[:100].float() / 255
    averaged, trained = task.ema.network, task.net
    assert not torch.equal(averaged.encoder[1].weight, trained.encoder[1].weight)
    torch.testing.assert_close(task.encode(x), averaged.encode(x)[0])
    codes = torch.randn(8, 32)
    torch.testing.assert_close(task.decode(codes), torch.sigmoid(averaged.decode_logits(codes)))
    draws = task.posterior_codes(x, torch.Generator().manual_seed(0))
    mean, logvar = averaged.encode(x)
    noise = torch.randn(mean.shape, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(draws, mean + noise * torch.exp(0.5 * logvar))
    assert task.extra_state() == {"ema_updates": 3}


def test_vae_gan_measures_its_average_and_loads_as_it_was_measured(make_cfg):
    """VAE-GAN's codes, reconstructions and samples come from the average of its encoder
    and decoder; a tiny run's final metrics are what ``aegan.load_run`` then gives."""
    tiny = [*TINY, *MODELS["vae_gan"], "data.subset=512", "data.val_size=200",
            "logger.enabled=false", "model.fd_samples=200"]  # fmt: skip
    cfg = make_cfg(*tiny, "evaluate.at_end=true", "evaluate.metrics=[reconstruction]")
    metrics = train(cfg)
    run = aegan.load_run(cfg.paths.output_dir, checkpoint="last")
    task = run.task
    averaged = task.ema.network
    assert task.extra_state()["ema_updates"] == 8  # one epoch of 512 images, batches of 64
    assert not torch.equal(averaged["decoder"].project[0].weight, task.decoder.project[0].weight)
    x = run.data.test_images[:8].float() / 255
    torch.testing.assert_close(task.encode(x), averaged["encoder"](x * 2 - 1)[:, :32])
    z = torch.randn(4, 32)
    torch.testing.assert_close(task.generate(z), (averaged["decoder"](z) + 1) / 2)
    again = evaluate_task(task, run.data, cfg.evaluate)
    assert again["test/mse"] == pytest.approx(metrics["test/mse"], rel=1e-6)
    live = (task.autoencoder["decoder"](task.autoencoder["encoder"](x * 2 - 1)[:, :32]) + 1) / 2
    assert not torch.allclose(task.reconstruct(x), live)
    off = build_task(make_cfg(*tiny, "model.ema_decay=0").model, (1, 28, 28), CPU)
    assert off.ema is None and "autoencoder_ema" not in off.networks  # 0 turns it off


@pytest.mark.slow
def test_infogan_codes_reach_the_generator_and_q_reads_them(tmp_path, one_thread):
    cfg = compose_config([*TINY, *MODELS["infogan"], "data.subset=640"], tmp_path / "run")
    data = load_data(cfg.data, data_dir=cfg.paths.data_dir)
    torch.manual_seed(0)
    _, task, _, step = built([*TINY, *MODELS["infogan"]], tmp_path, data=data)
    z, c, continuous = task.draw_codes(8, torch.Generator().manual_seed(0))
    assert z.shape == (8, 62 + 10 + 2) and torch.equal(z[:, 62:72].argmax(1), c)
    assert torch.equal(z[:, 72:], continuous) and continuous.abs().max() <= 1
    images = task.generate_with_code(3, 5, torch.Generator().manual_seed(0))
    assert images.shape == (5, 1, 28, 28)
    batches = data.train_images.split(64)
    accuracies = [step(batches[i % 10])["train/code_accuracy"].item() for i in range(150)]
    assert max(accuracies[-5:]) > 0.5  # Q learns to read the categorical code (chance 0.1)


@pytest.mark.parametrize(("overrides", "penalty"), [
    (["model.loss=wgan_gp", "model.n_critic=2"], "train/gradient_penalty"),
    (["model.r1_gamma=10"], "train/r1_penalty"),
])  # fmt: skip
def test_infogan_steps_with_the_dcgan_s_penalties_and_critic_steps(
    overrides, penalty, tmp_path, one_thread
):
    # InfoGAN is the DCGAN's task with codes: its D is penalised and its G steps every
    # n_critic-th batch as the DCGAN's do (WGAN without its penalty diverges)
    data = synthetic_data()
    _, task, _, step = built([*TINY, *MODELS["infogan"], *overrides], tmp_path, data=data)
    before = [p.detach().clone() for p in task.g_params]
    stats = step(data.train_images[:64])
    assert stats[penalty].item() > 0
    assert {"train/info_loss", "train/code_accuracy"} <= stats.keys()
    moved = any(not torch.equal(a, b) for a, b in zip(before, task.g_params, strict=True))
    assert moved == (task.n_critic == 1)  # with n_critic=2 the first batch is D's alone


def test_vae_gan_measures_reconstructions_in_d_s_features_without_dropout(tmp_path, one_thread):
    # L_llike is a unit-variance Gaussian in Dis_l(x) (Larsen et al. 2016), a function of the
    # image: through two independent dropout masks (p=0.3) its minimum was Dec(z) with 0.7
    # times the features of x, never x itself
    data = synthetic_data()
    overrides = [*TINY, *MODELS["vae_gan"], "trainer.precision=fp32"]
    _, task, _, step = built(overrides, tmp_path, data=data)
    batch = data.train_images[:64]
    x = normalize(batch, "symmetric")
    encoder, decoder, discriminator = (
        copy.deepcopy(task.networks[name]) for name in ("encoder", "decoder", "discriminator")
    )
    torch.manual_seed(0)  # the step's draws: z ~ q(z|x), then z_p ~ N(0, I)
    mean, logvar = encoder(x).chunk(2, dim=1)
    z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
    reconstructions = decoder(torch.cat([z, torch.randn_like(mean)]))[:64]
    error = discriminator.eval().features(reconstructions) - discriminator.features(x)
    torch.manual_seed(0)
    stats = step(batch)
    torch.testing.assert_close(stats["train/llike"], 0.5 * error.flatten(1).square().sum(1).mean())
