"""The GAN task on the shared engine: every loss config steps, a short real run learns,
samples reach TensorBoard and disk, a resume keeps the step count and the fixed noise."""

from __future__ import annotations

import math

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from aegan.amp import Amp
from aegan.config import validate_config
from aegan.data import ImageData, load_data
from aegan.engine import load_checkpoint
from aegan.logger import TensorBoardLogger
from aegan.metrics import frechet_distance
from aegan.tasks import GanTask, build_task
from aegan.tasks.adversarial import pooled_pixels
from aegan.train import train
from conftest import CPU, TINY_GAN, built, compose_config

LOSS_CONFIGS = {
    "ns": [],
    "lsgan": ["model.loss=lsgan"],
    "wgan_gp": ["model.loss=wgan_gp", "model.n_critic=2"],
    "hinge": ["model.loss=hinge"],
    "ns_r1": ["model.r1_gamma=10"],
    "hinge_spectral_norm": ["model.loss=hinge", "model.spectral_norm=true"],
}


@pytest.fixture(scope="module")
def fashion_subset(tmp_path_factory) -> ImageData:
    cfg = compose_config(TINY_GAN + ["data.subset=256"], tmp_path_factory.mktemp("gan") / "run")
    return load_data(cfg.data, data_dir=cfg.paths.data_dir)


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
@pytest.mark.parametrize("name", list(LOSS_CONFIGS))
def test_every_loss_config_takes_two_finite_steps(
    name, precision, fashion_subset, tmp_path, one_thread
):
    torch.manual_seed(0)
    overrides = TINY_GAN + LOSS_CONFIGS[name] + [f"trainer.precision={precision}"]
    cfg, task, _, step = built(overrides, tmp_path, data=fashion_subset)
    generator_before = [p.detach().clone() for p in task.generator.parameters()]
    discriminator_before = [p.detach().clone() for p in task.discriminator.parameters()]
    for i in range(2):
        stats = step(fashion_subset.train_images[64 * i : 64 * (i + 1)])
        if i == 0 and cfg.model.n_critic == 2:  # a D-only step: G has not moved
            after = task.generator.parameters()
            assert all(torch.equal(a, b) for a, b in zip(generator_before, after, strict=True))
    assert {"train/d_loss", "train/g_loss", "train/d_accuracy", "train/g_grad_norm"} <= stats.keys()
    if cfg.model.loss == "wgan_gp":
        assert stats["train/gradient_penalty"].item() > 0
    if cfg.model.r1_gamma:
        assert stats["train/r1_penalty"].item() > 0
    for key, value in stats.items():
        assert value.dim() == 0 and not value.requires_grad, key
        assert math.isfinite(value.item()), key
    assert stats["train/d_grad_norm"].item() > 0 and stats["train/g_grad_norm"].item() > 0
    assert task.ema.updates() == 2 // cfg.model.n_critic
    for before, network in ((generator_before, task.generator),
                            (discriminator_before, task.discriminator)):  # fmt: skip
        assert any(not torch.equal(a, b) for a, b in zip(before, network.parameters(), strict=True))


@pytest.mark.parametrize("name", ["ns", "lsgan", "ns_r1"])
def test_d_scores_and_accuracy_are_those_of_the_d_step_logits(
    name, fashion_subset, tmp_path, one_thread
):
    # the step reduces D's logits on reals and fakes as one (2, B) tensor; recompute its
    # statistics from the logits of the D step's forward passes, seen by a hook
    torch.manual_seed(0)
    cfg, task, _, step = built(TINY_GAN + LOSS_CONFIGS[name] + ["trainer.precision=fp32"],
                               tmp_path, data=fashion_subset)  # fmt: skip
    outputs = []
    task.discriminator.register_forward_hook(lambda m, i, out: outputs.append(out.detach()))
    stats = step(fashion_subset.train_images[:64])
    if cfg.model.r1_gamma:  # fakes first, then reals in fp32; the G step's pass last
        real, fake = outputs[1], outputs[0]
    else:  # one pass over reals and fakes
        real, fake = outputs[0][:64], outputs[0][64:]
    threshold = 0.5 if name == "lsgan" else 0.0
    accuracy = ((real > threshold).float().mean() + (fake < threshold).float().mean()) / 2
    if name != "lsgan":
        real, fake = real.sigmoid(), fake.sigmoid()
    torch.testing.assert_close(stats["train/d_real"], real.mean())
    torch.testing.assert_close(stats["train/d_fake"], fake.mean())
    torch.testing.assert_close(stats["train/d_accuracy"], accuracy)
    assert 0.0 < accuracy < 1.0  # a mixed batch: both sides of the threshold are counted


def test_one_scaler_for_both_optimizers_unscales_the_gradient_norms(
    fashion_subset, tmp_path, one_thread
):
    # fp16's call sequence (scale, unscale_ and step per optimizer, one update per
    # iteration) with a real GradScaler on the CPU, in fp32 so the numbers must agree
    cfg = compose_config(TINY_GAN + ["model.n_critic=2"], tmp_path / "run")
    x = fashion_subset.train_images[:64]
    runs = []
    for scale in (None, 2.0**12):
        torch.manual_seed(0)
        task = build_task(cfg.model, fashion_subset.image_shape, CPU)
        amp = Amp("fp32", CPU)
        if scale:
            amp.scaler = torch.amp.GradScaler("cpu", init_scale=scale)
        task.train()
        steps = []
        for _ in range(2):  # a D-only step, then D and G
            for optimizer in task.optimizers.values():
                optimizer.zero_grad(set_to_none=True)
            steps.append(task.train_step(x, amp))
            amp.update()
        runs.append(steps)
    for plain, scaled in zip(*runs, strict=True):
        for key in plain:
            assert torch.allclose(plain[key], scaled[key], rtol=1e-4), key
    assert runs[1][1]["train/g_grad_norm"] > 0
    assert runs[1][1]["train/d_grad_norm"] != runs[1][0]["train/d_grad_norm"]


def test_without_ema_the_generator_makes_the_samples(fashion_subset, tmp_path, one_thread):
    cfg = compose_config(TINY_GAN + ["model.ema_decay=0", "model.fd_samples=100"], tmp_path / "r")
    task = build_task(cfg.model, fashion_subset.image_shape, CPU)
    assert "generator_ema" not in task.networks and task.ema is None
    task.train(False)
    z = torch.randn(4, task.latent_dim)
    with torch.no_grad():
        expected = (task.generator(z) + 1) / 2
    torch.testing.assert_close(task.generate(z), expected.clamp(0, 1))
    val = task.validate([fashion_subset.val_images], Amp("fp32", CPU))
    # the objective is the FD of the trained generator's samples from the seeded noise
    noise = torch.Generator().manual_seed(task.val_noise_seed)
    fakes = task.generator(task.draw_latents(100, noise)).add(1).div(2)
    real = pooled_pixels(fashion_subset.val_images.float() / 255)
    expected = frechet_distance(pooled_pixels(fakes), real)
    assert val["val/pixel_fd"] == pytest.approx(expected, rel=1e-4) and expected > 0.01
    task.log_epoch(TensorBoardLogger(tmp_path / "r" / "tb", enabled=False), fashion_subset, step=0)
    assert (tmp_path / "r" / "samples" / "epoch-0001.png").is_file()


def _scalars(run_dir, tag: str) -> list[float]:
    events = EventAccumulator(str(run_dir / "tb")).Reload()
    return [event.value for event in events.Scalars(tag)]


def test_short_run_discriminator_learns_then_generator_responds(tmp_path):
    # 200 steps of 64 real Fashion-MNIST images, bf16, scalars every 10 steps
    run_dir = tmp_path / "run"
    cfg = compose_config(TINY_GAN + ["data.subset=12800", "logger.log_every_steps=10"], run_dir)
    untrained = build_task(cfg.model, (1, 28, 28), CPU)
    metrics = train(cfg)
    assert metrics["train/steps"] == 200

    d_accuracy = _scalars(run_dir, "train/d_accuracy")
    g_loss = _scalars(run_dir, "train/g_loss")
    assert len(d_accuracy) == len(g_loss) == 20
    assert max(d_accuracy[:10]) > 0.65  # D leaves chance (0.5) within 100 steps
    assert max(g_loss[5:]) - g_loss[0] > 0.2  # ... and G's loss moves in response
    assert all(math.isfinite(v) for v in metrics.values())

    # samples: both grids in TensorBoard, the EMA grid as a PNG in the run dir
    events = EventAccumulator(str(run_dir / "tb")).Reload()
    assert {"samples/generator", "samples/generator_ema"} <= set(events.Tags()["images"])
    image = events.Images("samples/generator_ema")[-1]
    assert (image.width, image.height) == (8 * 30 + 2, 8 * 30 + 2)  # 8x8 of 28x28, padding 2
    assert (run_dir / "samples" / "epoch-0001.png").is_file()

    # the objective is a distance to the validation images: lower than before training
    data = load_data(cfg.data, data_dir=cfg.paths.data_dir)
    untrained.train(False)
    before = untrained.validate([data.val_images], Amp("bf16", CPU))["val/pixel_fd"]
    assert metrics["val/pixel_fd"] < 0.8 * before


def test_resume_continues_at_the_step_with_the_same_fixed_noise(tmp_path):
    tiny = TINY_GAN + ["data.subset=128", "model.fd_samples=200", "logger.enabled=false"]
    first_dir, resumed_dir = tmp_path / "first", tmp_path / "resumed"
    assert train(compose_config(tiny, first_dir))["train/steps"] == 2
    first = load_checkpoint(first_dir / "checkpoints" / "last.pt")

    # another noise seed: the resumed noise must come from the checkpoint, not the config
    resumed_cfg = tiny + ["trainer.epochs=2", f"trainer.resume={first_dir}", "model.noise_seed=7"]
    metrics = train(compose_config(resumed_cfg, resumed_dir))
    resumed = load_checkpoint(resumed_dir / "checkpoints" / "last.pt")
    assert metrics["train/steps"] == resumed["step"] == 4 and metrics["train/epochs"] == 2
    assert resumed["task"]["ema_updates"] == 4 and resumed["task"]["epoch"] == 2
    assert torch.equal(resumed["task"]["fixed_noise"], first["task"]["fixed_noise"])
    assert first["task"]["fixed_noise"].shape == (64, 100)
    assert "generator_ema" in resumed["networks"]
    assert len(resumed["history"]) == 2


@pytest.mark.parametrize("image_shape", [(3, 32, 32), (3, 64, 64)])
def test_build_task_sizes_the_generator_from_the_data(image_shape, tmp_path):
    cfg = compose_config(["model=dcgan", "data=cifar10"], tmp_path / "run")
    task = build_task(cfg.model, image_shape, CPU)
    assert isinstance(task, GanTask)
    task.train(False)
    with torch.no_grad():
        samples = task.generator(torch.randn(2, cfg.model.latent_dim))
        assert samples.shape == (2, *image_shape)
        assert task.discriminator(samples).shape == (2,)
        images = task.sample(3, torch.Generator().manual_seed(0))
    assert images.shape == (3, *image_shape) and images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize("experiment", ["dcgan_fashion_mnist", "dcgan_mnist", "dcgan_cifar10"])
def test_experiment_recipes_build(experiment, tmp_path):
    cfg = compose_config([f"experiment={experiment}", "trainer.device=cpu"], tmp_path / "run")
    assert cfg.model.name == "dcgan" and cfg.data.batch_size == 64
    assert cfg.trainer.precision == "auto" and cfg.trainer.channels_last
    assert cfg.data.name == experiment.removeprefix("dcgan_")
    validate_config(cfg, read_data=False)  # every setting, the task built on the meta device
    shape = {"cifar10": (3, 32, 32)}.get(cfg.data.name, (1, 28, 28))
    task = build_task(cfg.model, shape, torch.device("meta"))
    assert task.generator.image_shape == shape
