"""What every model option in conf/model/ does, a new one included without a line here: a
step on a tiny config moves every network it trains and returns finite 0-d figures, and a
run stopped after its first epoch and resumed ends bitwise where one straight run does.
Variants (an AAE's priors, ALI, EMA) are added by name; a model whose default sizes make a
CPU step slow gets smaller ones in ``SMALLER``."""

from __future__ import annotations

import pytest
import torch

from aegan.engine import load_checkpoint
from aegan.train import train
from conftest import CONF_DIR, TINY_AE, built, synthetic_data

TINY = [o for o in TINY_AE if not o.startswith("evaluate")] + ["evaluate.at_end=false"]
OPTIONS = sorted(path.stem for path in (CONF_DIR / "model").glob("*.yaml"))
SMALL_CONV = ["model.generator.channels=[64,32,32]", "model.discriminator.channels=[32,64]"]
SMALL_ENCODER = ["model.encoder.channels=[32,64]"]
SMALL_JOINT = ["model.discriminator.z_hidden=64", "model.discriminator.joint_hidden=128"]
SMALL_NET = ["model.net.encoder_channels=[16,32]", "model.net.decoder_channels=[32,16,16]"]
SMALLER = {  # option -> overrides that keep a step to milliseconds on the CPU
    "conv_autoencoder": SMALL_NET,
    "conv_vae": SMALL_NET,
    "dcgan": SMALL_CONV,
    "infogan": SMALL_CONV,
    "bigan": [*SMALL_CONV, *SMALL_ENCODER, *SMALL_JOINT],
    "vae_gan": ["model.decoder.channels=[64,32,32]", *SMALL_ENCODER, SMALL_CONV[1]],
}
VARIANTS = {
    "aae_gaussian": ["model=aae", "model.posterior=gaussian"],
    "aae_ema": ["model=aae", "model.posterior=gaussian", "model.ema_decay=0.999"],
    "aae_supervised": ["model=aae", "model.prior=mixture", "model.label_prior=true"],
    "ali": ["model=bigan", "model.stochastic_encoder=true", *SMALLER["bigan"]],
}
MODELS = {**{o: [f"model={o}", *SMALLER.get(o, [])] for o in OPTIONS}, **VARIANTS}
LABELLED = {"aae_supervised"}  # the models whose step reads the labels


@pytest.mark.parametrize("name", list(MODELS))
def test_a_step_moves_every_network_it_trains(name, tmp_path, one_thread):
    data = synthetic_data()
    _, task, _, step = built([*TINY, *MODELS[name]], tmp_path, data=data)
    before = {n: [p.detach().clone() for p in net.parameters()] for n, net in task.networks.items()}
    batch = data.train_images[:64]
    stats = step((batch, data.train_labels[:64]) if task.uses_labels else batch)
    assert stats and all(v.dim() == 0 and torch.isfinite(v) for v in stats.values()), stats
    for network_name, network in task.networks.items():  # an average moves with its network
        pairs = zip(before[network_name], network.parameters(), strict=True)
        assert any(not torch.equal(a, b) for a, b in pairs), f"{name}: {network_name} did not move"
    assert task.uses_labels == (name in LABELLED)


@pytest.mark.parametrize("name", [*OPTIONS, "aae_ema"])
def test_a_run_resumes_bitwise(name, make_cfg):
    # bf16 itself, where it is emulated too (AVX2 CPUs): few images, two steps an epoch
    tiny = [*TINY, *MODELS[name], "data.subset=128", "data.val_size=100",
            "logger.enabled=false", "trainer.precision=bf16"]  # fmt: skip
    if "fd_samples" in make_cfg(*tiny, run="probe").model:
        tiny.append("model.fd_samples=100")  # the GANs' validation samples
    train(make_cfg(*tiny, "trainer.epochs=2", run="straight"))
    train(make_cfg(*tiny, run="first"))
    first = make_cfg(run="first").paths.output_dir
    train(make_cfg(*tiny, "trainer.epochs=2", f"trainer.resume={first}", run="resumed"))
    a = load_checkpoint(make_cfg(run="straight").paths.output_dir + "/checkpoints/last.pt")
    b = load_checkpoint(make_cfg(run="resumed").paths.output_dir + "/checkpoints/last.pt")
    assert a["step"] == b["step"] == 4
    assert a["networks"].keys() == b["networks"].keys()
    for network, weights in a["networks"].items():
        for key, value in weights.items():
            assert torch.equal(value, b["networks"][network][key]), f"{network}.{key}"
