"""Hostile values for the model settings: each is refused by ``validate_config`` in one line
naming the key, the value and what is allowed, before any data is read.

In-process (compose, then the pre-data checks): the whole table takes seconds."""

from __future__ import annotations

import math
import warnings
from functools import cache
from types import SimpleNamespace

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict
from torch import nn
from torch.nn.utils import parametrize

import aegan.config
from aegan.config import validate_config
from aegan.errors import ConfigError
from aegan.tasks import GanTask, InfoGanTask, build_task
from aegan.tasks.arguments import check_argument_names, check_optimizer_arguments
from aegan.tasks.build import build_network
from aegan.tasks.tied import check_read_by


@cache
def base(model: str):
    cfg = aegan.config.compose_config([f"model={model}", "trainer.device=cpu"])
    with open_dict(cfg):
        cfg.paths.output_dir = "/nonexistent/aegan-hostile-model"  # validate_config writes nothing
    return cfg


def refusal(model: str, **settings) -> str:
    """The one-line ConfigError ``validate_config`` raises for ``settings`` on ``model``."""
    cfg = base(model).copy()
    with open_dict(cfg):
        for key, value in settings.items():
            OmegaConf.update(cfg, key, value, merge=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no torch warning before the refusal
        with pytest.raises(ConfigError) as refused:
            validate_config(cfg)
    message = str(refused.value)
    assert "\n" not in message and "could not be built" not in message, message
    return message


OPT = "model.optimizer"
CASES = [
    # optimizers: switches torch reads as truthy, a learning rate that overflows, Adam's betas
    ("autoencoder", {f"{OPT}.foreach": 0}, f"{OPT}.foreach=0 is not allowed: it must be true, false or null"),
    ("autoencoder", {f"{OPT}.foreach": []}, f"{OPT}.foreach=[] is not allowed"),
    ("vae", {f"{OPT}.foreach": "abc", f"{OPT}.fused": False}, f"{OPT}.foreach='abc' is not allowed"),
    ("autoencoder", {f"{OPT}.lr": math.inf}, f"{OPT}.lr=inf is not allowed"),
    ("dcgan", {"model.g_optimizer.lr": -1e-3}, "model.g_optimizer.lr=-0.001 is not allowed"),
    ("conv_vae", {f"{OPT}.lr": 0}, f"{OPT}.lr=0 is not allowed"),
    ("dcgan", {"model.d_optimizer.betas": [1, 2]}, "model.d_optimizer.betas[0]=1 is not allowed: it must be a number in [0, 1)"),
    ("aae", {"model.d_optimizer.betas": [0.5]}, "model.d_optimizer.betas=[0.5] is not allowed: it must be a list of 2 numbers"),
    ("bigan", {"model.g_optimizer.betas": None}, "model.g_optimizer.betas=null is not allowed"),
    ("vae_gan", {"model.e_optimizer.betas": [0.5, -0.1]}, "model.e_optimizer.betas[1]=-0.1 is not allowed"),
    ("infogan", {"model.d_optimizer.betas": [0.5, 1.0]}, "model.d_optimizer.betas[1]=1.0 is not allowed"),
    # any other argument of the optimizer class: its default's kind, or not one of its names
    # a task's or a network's setting misspelt: named, with what it takes and the nearest
    ("vae", {"model.betta": 2}, "model.betta=2 is not allowed: model._target_=aegan.tasks.VaeTask takes no argument betta; its arguments are: name, net, optimizer,"),
    ("vae", {"model.betta": 2}, "; did you mean model.beta?"),
    ("aae", {"model.label_priors": True}, "takes no argument label_priors; its arguments are: name,"),
    ("aae", {"model.label_priors": True}, "; did you mean model.label_prior?"),
    # InfoGanTask passes **settings to GanTask, which Python named instead of InfoGAN
    ("infogan", {"model.noise_dimm": 8}, "model.noise_dimm=8 is not allowed: model._target_=aegan.tasks.InfoGanTask takes no argument noise_dimm; its arguments are: noise_dim, categories,"),
    ("infogan", {"model.noise_dimm": 8}, ", n_critic, r1_gamma,"),
    ("infogan", {"model.noise_dimm": 8}, "; did you mean model.noise_dim?"),
    ("dcgan", {"model.generator.kernel": 5}, "model.generator.kernel=5 is not allowed: model.generator._target_=aegan.models.Generator takes no argument kernel"),
    ("dcgan", {"model.generator.kernel": 5}, "; did you mean model.generator.kernel_size?"),
    ("autoencoder", {f"{OPT}.amsgrad": 3}, f"{OPT}.amsgrad=3 is not allowed: it must be true or false"),
    ("autoencoder", {f"{OPT}.maximize": 1}, f"{OPT}.maximize=1 is not allowed: it must be true or false"),
    ("autoencoder", {f"{OPT}.capturable": "yes"}, f"{OPT}.capturable='yes' is not allowed"),
    ("vae", {f"{OPT}.amsgrad": "no"}, f"{OPT}.amsgrad='no' is not allowed"),
    ("autoencoder", {f"{OPT}.amsgrd": True}, f"{OPT}.amsgrd=true is not allowed: {OPT}._target_=torch.optim.Adam takes no argument amsgrd; its arguments are: lr, betas, eps, weight_decay, amsgrad"),
    ("autoencoder", {f"{OPT}._target_": "torch.optim.Adagrad", f"{OPT}.lr_decay": "0.9"}, f"{OPT}.lr_decay='0.9' is not allowed"),
    ("dcgan", {"model.g_optimizer._target_": "torch.optim.NAdam"}, "model.g_optimizer.fused=true is not allowed: model.g_optimizer._target_=torch.optim.NAdam takes no argument fused"),
    # the optimizer's own refusal (torch raises RuntimeError for some): named by its key
    ("aae", {"model.ae_optimizer.differentiable": True}, "model.ae_optimizer is not allowed as set (torch.optim.Adam with lr=0.001, fused=true, differentiable=true): `fused` does not support `differentiable`"),
    # GAN losses: the setting's own line, not the task's failure
    ("aae", {"model.gan_loss": "abc"}, "model.gan_loss='abc' is not a GAN loss here"),
    ("dcgan", {"model.loss": None}, "model.loss=null is not a GAN loss here"),
    # network sections: kernel sizes, channel lists, dropout, widths
    ("conv_autoencoder", {"model.net.kernel_size": None}, "model.net.kernel_size=null is not allowed: it must be an integer"),
    ("conv_vae", {"model.net.kernel_size": 2}, "model.net.kernel_size=2 is not allowed: it must be odd"),
    ("conv_vae", {"model.net.kernel_size": 2**63 - 1}, "model.net.kernel_size=9223372036854775807 is not allowed"),
    ("dcgan", {"model.generator.kernel_size": 0}, "model.generator.kernel_size=0 is not allowed"),
    # within [1, 63] but wider than the images: mostly padding, minutes a step and a late stop
    ("conv_autoencoder", {"model.net.kernel_size": 61}, "model.net.kernel_size=61 is not allowed: it must be at most the images' side (28)"),
    ("dcgan", {"model.generator.kernel_size": 29}, "model.generator.kernel_size=29 is not allowed: it must be at most the images' side (28)"),
    ("conv_autoencoder", {"model.net.encoder_channels": None}, "model.net.encoder_channels=null is not allowed: it must be a list"),
    ("conv_vae", {"model.net.encoder_channels": []}, "model.net.encoder_channels=[] is not allowed: it must be a list of at least 1"),
    ("conv_vae", {"model.net.decoder_channels": [256, -3]}, "model.net.decoder_channels[1]=-3 is not allowed"),
    ("dcgan", {"model.discriminator.channels": []}, "model.discriminator.channels=[] is not allowed"),
    # a generator's first width is its start size's: "at least 1" then "at least 2 entries"
    ("dcgan", {"model.generator.channels": [256]}, "model.generator.channels=[256] is not allowed: it must be a list of at least 2 layer sizes"),
    ("conv_vae", {"model.net.decoder_channels": [256]}, "model.net.decoder_channels=[256] is not allowed: it must be a list of at least 2 layer sizes"),
    ("vae_gan", {"model.decoder.channels": [256]}, "model.decoder.channels=[256] is not allowed: it must be a list of at least 2"),
    ("vae_gan", {"model.decoder.channels": None}, "model.decoder.channels=null is not allowed"),
    # more widths than the image size has stages: refused by the class, not the key
    ("conv_vae", {"model.net.decoder_channels": [256, 128, 64, 32]}, "model.net.decoder_channels=[256,128,64,32] is not allowed: at 28x28 a generator takes at most 3 widths (the projection, the stride-1 stage and 1 stride-2 stage), e.g. [256,128,64]"),
    ("dcgan", {"model.generator.channels": [256, 128, 64, 32]}, "model.generator.channels=[256,128,64,32] is not allowed: at 28x28 a generator takes at most 3 widths"),
    ("vae_gan", {"model.decoder.channels": [256, 128, 64, 32, 16]}, "model.decoder.channels=[256,128,64,32,16] is not allowed: at 28x28"),
    ("dcgan", {"model.discriminator.dropout": 1}, "model.discriminator.dropout=1 is not allowed: it must be a number in [0, 1)"),
    ("bigan", {"model.discriminator.dropout": -0.5}, "model.discriminator.dropout=-0.5 is not allowed"),
    ("infogan", {"model.discriminator.dropout": 1.0}, "model.discriminator.dropout=1.0 is not allowed"),
    ("bigan", {"model.discriminator.z_hidden": 2**63 - 1}, "model.discriminator.z_hidden=9223372036854775807 is not allowed"),
    ("bigan", {"model.discriminator.joint_hidden": None}, "model.discriminator.joint_hidden=null is not allowed"),
    ("aae", {"model.discriminator.hidden_dims": None}, "model.discriminator.hidden_dims=null is not allowed"),
    ("aae", {"model.discriminator.hidden_dims": [-3]}, "model.discriminator.hidden_dims[0]=-3 is not allowed"),
    ("aae", {"model.discriminator.num_labels": None}, "model.discriminator.num_labels=null is not allowed"),
    ("aae", {"model.hidden_dims": [0]}, "model.hidden_dims[0]=0 is not allowed"),
    # the adversarial autoencoder's labels: D's input must match model.label_prior
    ("aae", {"model.discriminator.num_labels": 10}, "model.discriminator.num_labels=10 is not allowed: with model.label_prior=false it must be 0"),
    ("aae", {"model.prior": "mixture", "model.label_prior": True, "model.discriminator.num_labels": 5}, "model.discriminator.num_labels=5 is not allowed: the task sets it to 10, from model.label_prior"),
    # the fixed-noise grid: at least one image (the grid has nothing to lay out otherwise)
    ("dcgan", {"model.num_fixed_noise": 0}, "model.num_fixed_noise=0 is not allowed: it must be an integer in [1, 1024]"),
    ("infogan", {"model.latent_dim": 74}, "model.latent_dim=74 is not allowed: InfoGAN's generator input is model.noise_dim + model.categories + model.continuous (= 74)"),
    # a network without what its task calls on it: refused before data, not at the first step
    ("conv_autoencoder", {"model.net._target_": "aegan.models.ConvVAE"}, "model.net._target_=aegan.models.ConvVAE is not allowed here: the task calls its forward, encode, decode_logits, and it has no forward"),
    ("autoencoder", {"model.net._target_": "aegan.models.DenseVAE"}, "model.net._target_=aegan.models.DenseVAE is not allowed here: the task calls its forward, encode, decode_logits, and it has no forward"),
    ("vae", {"model.net._target_": "aegan.models.DenseAutoencoder"}, "model.net._target_=aegan.models.DenseAutoencoder is not allowed here: the VAE needs an encoder that gives a mean and a log-variance"),
    ("vae_gan", {"model.discriminator._target_": "aegan.models.JointDiscriminator"}, "model.discriminator._target_=aegan.models.JointDiscriminator is not allowed here: the task calls its features, apply_head, and it has no features, apply_head"),
    # a size the task passes its network itself: a different value would be ignored
    ("bigan", {"model.encoder.out_features": 7}, "model.encoder.out_features=7 is not allowed: the task sets it to 50, from model.latent_dim; change that instead"),
    ("bigan", {"model.generator.latent_dim": 7}, "model.generator.latent_dim=7 is not allowed: the task sets it to 50, from model.latent_dim"),
    ("bigan", {"model.discriminator.latent_dim": 7}, "model.discriminator.latent_dim=7 is not allowed"),
    ("bigan", {"model.generator.image_shape": [3, 64, 64]}, "model.generator.image_shape=[3,64,64] is not allowed: the task sets it to [1,28,28], from the data"),
    ("vae_gan", {"model.encoder.out_features": 9}, "model.encoder.out_features=9 is not allowed: the task sets it to 64"),
    ("infogan", {"model.generator.latent_dim": 8}, "model.generator.latent_dim=8 is not allowed: the task sets it to 74, from model.noise_dim + model.categories + model.continuous"),
    ("conv_vae", {"model.net.image_shape": [3, 32, 32]}, "model.net.image_shape=[3,32,32] is not allowed"),
    # a task setting that nothing in the chosen config reads: refused, not ignored
    ("conv_vae", {"model.hidden_dims": [8]}, "model.hidden_dims=[8] is not allowed: model.net._target_=aegan.models.ConvVAE does not read it (no model.net.hidden_dims), so it would have no effect"),
    ("conv_autoencoder", {"model.hidden_dims": [8]}, "model.hidden_dims=[8] is not allowed: model.net._target_=aegan.models.ConvAutoencoder does not read it"),
    ("aae", {"model.prior_layout": "grid"}, "model.prior_layout=grid is not allowed with model.prior=gaussian, which has no components to lay out"),
    ("dcgan", {"model.spectral_norm": 1}, "model.spectral_norm=1 is not allowed: it must be true or false"),
    # a network's setting that conf/ leaves out (+key=...): its default's kind, else the first
    # step failed after the data was read (a text slope), or read any text as true
    ("vae_gan", {"model.discriminator.negative_slope": "abc"}, "model.discriminator.negative_slope='abc' is not allowed: it must be a number in [0, 1]"),
    ("dcgan", {"model.discriminator.negative_slope": [1]}, "model.discriminator.negative_slope=[1] is not allowed"),
    ("vae_gan", {"model.discriminator.spectral_norm": "no"}, "model.discriminator.spectral_norm='no' is not allowed: it must be true or false"),
    ("autoencoder", {"model.net.code_activation": 1}, "model.net.code_activation=1 is not allowed: it must be true or false"),
    ("bigan", {"model.generator.out_activation": "sigmoid"}, "model.generator.out_activation='sigmoid' is not allowed; choose one of: tanh, none"),
    ("vae_gan", {"model.encoder.negative_slope": "abc"}, "model.encoder._target_=aegan.models.ConvEncoder takes no argument negative_slope"),
    # the option's name: the run's record picks its config by it
    ("vae", {"model.name": None}, "model.name=null is not allowed: it must be the name of the model option"),
    ("dcgan", {"model.name": "a/b"}, "model.name='a/b' is not allowed"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("model", "settings", "message"), CASES, ids=[f"{m}-{'-'.join(s)}" for m, s, _ in CASES]
)
def test_a_hostile_model_setting_is_one_line_naming_it(model, settings, message):
    assert message in refusal(model, **settings)


def test_a_renamed_option_is_refused_where_hydra_knows_the_choice():
    """On the command line Hydra records model=vae; model.name=abc would make that run's
    record unreadable (its choices and config disagree)."""
    with initialize_config_dir(config_dir=aegan.config.CONF_DIR, version_base="1.3"):
        composed = compose(config_name="train", overrides=["model=vae"], return_hydra_config=True)
    HydraConfig.instance().set_config(composed)
    try:
        message = refusal("vae", **{"model.name": "abc"})
    finally:
        HydraConfig.instance().cfg = None
    assert message.startswith("model.name='abc' is not allowed: it must be 'vae'"), message


def test_an_optimizer_argument_that_is_a_tuple_is_checked_entry_by_entry():
    rprop = {
        "_target_": "torch.optim.Rprop",
        "_partial_": True,
        "lr": 0.01,
        "etas": [0.5, math.inf],
    }
    with pytest.raises(ConfigError, match=r"^model.optimizer.etas\[1\]=inf is not allowed"):
        check_optimizer_arguments("model.optimizer", OmegaConf.create(rprop))


def test_an_optimizer_argument_of_its_defaults_kind_builds():
    validate_config(base("autoencoder").copy())  # the shipped settings
    cfg = base("autoencoder").copy()
    with open_dict(cfg):
        cfg.model.optimizer.amsgrad = True
        cfg.model.optimizer.eps = 1e-6
    validate_config(cfg)


@pytest.mark.parametrize("model", ["vae", "aae"])
def test_a_dense_vae_without_hidden_layers_builds(model):
    """``hidden_dims=[]`` is a linear encoder, as for the autoencoder, not an index error."""
    cfg = base(model).copy()
    with open_dict(cfg):
        cfg.model.hidden_dims = []
        if model == "aae":
            cfg.model.posterior = "gaussian"
    validate_config(cfg)


def test_a_users_own_network_keeps_its_own_meaning_of_the_names():
    """Only aegan's networks are held to what their settings mean there: a user's network
    may take an even kernel and an int of channels."""
    conv = {"_target_": "torch.nn.Conv2d", "in_channels": 1, "out_channels": 8, "kernel_size": 4}
    assert build_network("model.net", OmegaConf.create(conv)).kernel_size == (4, 4)
    own = {**conv, "_target_": "aegan.models.dcgan.Discriminator"}
    with pytest.raises(ConfigError, match=r"^model.net.kernel_size=4 is not allowed"):
        build_network("model.net", OmegaConf.create(own))


def test_a_network_without_what_the_task_calls_is_refused_by_its_target():
    """InfoGAN's step calls D's Q head: a plain discriminator has none."""
    plain = OmegaConf.create({"_target_": "aegan.models.Discriminator"})
    with pytest.raises(
        ConfigError,
        match=r"^model.discriminator._target_=aegan.models.Disc"
        r"riminator is not allowed here: .* it has no forward_with_q, categories",
    ):
        build_network("model.discriminator", plain, require=InfoGanTask.discriminator_calls)
    assert build_network("model.discriminator", plain, require=GanTask.discriminator_calls)


def test_a_size_the_task_passes_may_be_tied_to_the_same_value():
    """``latent_dim: ${..latent_dim}`` in a network's section, or the same number, builds."""
    cfg = base("dcgan").copy()
    with open_dict(cfg):
        cfg.model.generator.latent_dim = 100
        cfg.model.generator.image_shape = [1, 28, 28]
    validate_config(cfg)


def test_infogans_spectral_norm_reaches_every_layer_of_d_and_q():
    cfg = base("infogan").copy()
    with open_dict(cfg):
        cfg.model.spectral_norm = True
    task = build_task(cfg.model, (1, 28, 28), torch.device("meta"))
    layers = [m for m in task.discriminator.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 5 and all(parametrize.is_parametrized(m, "weight") for m in layers)


def test_spectral_norm_for_a_discriminator_that_does_not_read_it_is_refused():
    plain = OmegaConf.create({"_target_": "my.Discriminator"})
    with pytest.raises(ConfigError, match=r"^model.spectral_norm=true is not allowed: model.disc"):
        check_read_by("model.spectral_norm", True, "model.discriminator", plain, "spectral_norm")


def test_a_label_prior_on_data_of_more_classes_than_components_is_refused():
    """Each class picks one of the mixture's 10 components: 12 classes have no component."""
    cfg = base("aae").copy()
    with open_dict(cfg):
        cfg.model.update(prior="mixture", label_prior=True)
    task = build_task(cfg.model, (3, 64, 64), torch.device("meta"))
    twelve = SimpleNamespace(name="image_folder", classes=tuple("abcdefghijkl"))
    with pytest.raises(ConfigError) as refused:
        task.check_data(twelve)
    assert str(refused.value).startswith(
        "model.label_prior=true with model.prior=mixture is not allowed on data image_folder "
        "with 12 classes: the mixture has 10 components"
    )
    task.check_data(SimpleNamespace(name="image_folder", classes=tuple("abcdefghij")))


class WrapsANetwork:
    """A user's class handing ``**settings`` to something else: any name may be taken."""

    def __init__(self, *, width: int = 8, **net_settings) -> None:
        self.net = torch.nn.Linear(width, **net_settings)


def test_settings_passed_beyond_the_constructors_are_named_only_where_refused():
    cfg = OmegaConf.create({"_target_": f"{__name__}.WrapsANetwork", "out_features": 2})
    check_argument_names("model.net", cfg)  # Linear's: nothing here knows it is not taken
    with pytest.raises(TypeError, match="unexpected keyword argument 'depth'") as python:
        WrapsANetwork(out_features=2, depth=3)
    with pytest.raises(ConfigError, match=r"^model.net.depth=3 is not allowed: .* takes no "
                       r"argument depth; its arguments are: width"):  # fmt: skip
        check_argument_names("model.net", {**cfg, "depth": 3}, refused=python.value)
