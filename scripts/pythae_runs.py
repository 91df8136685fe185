"""pythae 0.1.2's VAE, Adversarial_AE and VAEGAN on aegan's dense sizes, trained by pythae's
own trainers as a user runs them (``scripts/compare_pythae.py`` sets them side by side with
aegan's; ``scripts/step_floor.py`` times their steps)."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from importlib import metadata

import torch
import torch.nn.functional as F
from torch import nn

LATENT, HIDDEN, PIXELS = 32, 64, 784
IWAE_K = 200  # importance samples of the -log p(x) bound, for both libraries
PYTHAE = "0.1.2"  # the version these runs are written against; not a dependency of aegan


def require_pythae(script: str) -> None:
    """Exit with one line where pythae is not installed, or not as 0.1.2: its import came
    only when its first run began, a traceback after the data was read."""
    if importlib.util.find_spec("pythae") is None:
        print(f"error: {script} needs pythae {PYTHAE}, which is not installed (not a "
              f"dependency of aegan): .venv/bin/pip install pythae=={PYTHAE}",
              file=sys.stderr)  # fmt: skip
        sys.exit(2)
    try:
        found = metadata.version("pythae")
    except metadata.PackageNotFoundError:  # importable, but not installed by pip
        found = "of no known version"
    if found != PYTHAE:  # another version trains otherwise: its figures would be another's
        print(f"error: {script} needs pythae {PYTHAE}, and pythae {found} is installed: "
              f".venv/bin/pip install pythae=={PYTHAE}", file=sys.stderr)  # fmt: skip
        sys.exit(2)


def pythae_networks(deterministic: bool):
    """pythae encoder and decoder with aegan's dense sizes; a deterministic encoder gives
    zero log-variances (pythae's Adversarial_AE asks for them and ignores them)."""
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder

    class Encoder(BaseEncoder):
        def __init__(self) -> None:
            super().__init__()
            out = LATENT if deterministic else 2 * LATENT
            self.net = nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, HIDDEN), nn.ReLU(),
                                     nn.Linear(HIDDEN, out))  # fmt: skip

        def forward(self, x):
            h = self.net(x)
            mean, logvar = (h, torch.zeros_like(h)) if deterministic else h.chunk(2, dim=1)
            return ModelOutput(embedding=mean, log_covariance=logvar)

    class Decoder(BaseDecoder):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(LATENT, LATENT), nn.ReLU(), nn.Linear(LATENT, HIDDEN),
                                     nn.ReLU(), nn.Linear(HIDDEN, PIXELS), nn.Sigmoid())  # fmt: skip

        def forward(self, z):
            return ModelOutput(reconstruction=self.net(z).view(-1, 1, 28, 28))

    return Encoder(), Decoder()


def pythae_code_discriminator():
    """aegan's CodeDiscriminator (32 -> 256 -> 256 -> 1, LeakyReLU 0.2) with pythae's sigmoid."""
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDiscriminator

    class CodeDiscriminator(BaseDiscriminator):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(LATENT, 256), nn.LeakyReLU(0.2), nn.Linear(256, 256),
                                     nn.LeakyReLU(0.2), nn.Linear(256, 1), nn.Sigmoid())  # fmt: skip
            self.depth = 1

        def forward(self, z, output_layer_levels=None):
            return ModelOutput(embedding=self.net(z))

    return CodeDiscriminator()


def run_pythae(
    pair: str, train_x: torch.Tensor, test_x: torch.Tensor, epochs: int, seed: int, evaluate=True
) -> tuple[dict, nn.Module]:
    """Train pythae's model with its trainer; return images/s and (``evaluate``) the pair's
    test figure, and the trained model."""
    import pythae.models as pm
    import pythae.trainers as pt
    from pythae.data.datasets import BaseDataset
    from pythae.models.vae_gan import VAEGANConfig

    torch.manual_seed(seed)
    gan_adam = {"betas": (0.5, 0.999)}
    common = dict(per_device_train_batch_size=64, num_epochs=epochs, steps_saving=None,
                  keep_best_on_train=True, no_cuda=True, seed=seed)  # fmt: skip
    out_dir = tempfile.mkdtemp(prefix="pythae-")
    if pair == "vae":
        encoder, decoder = pythae_networks(deterministic=False)
        config = pm.VAEConfig(input_dim=(1, 28, 28), latent_dim=LATENT, reconstruction_loss="bce")
        model = pm.VAE(config, encoder=encoder, decoder=decoder)
        trainer_cls = pt.BaseTrainer
        tcfg = pt.BaseTrainerConfig(output_dir=out_dir, learning_rate=1e-3, **common)
    elif pair == "aae":
        encoder, decoder = pythae_networks(deterministic=True)
        config = pm.Adversarial_AE_Config(input_dim=(1, 28, 28), latent_dim=LATENT,
                                          deterministic_posterior=True)  # fmt: skip
        model = pm.Adversarial_AE(config, encoder=encoder, decoder=decoder,
                                  discriminator=pythae_code_discriminator())  # fmt: skip
        trainer_cls = pt.AdversarialTrainer
        tcfg = pt.AdversarialTrainerConfig(
            output_dir=out_dir, autoencoder_learning_rate=1e-3, discriminator_learning_rate=2e-4,
            discriminator_optimizer_params=gan_adam, **common,
        )  # fmt: skip
    else:
        encoder, decoder = pythae_networks(deterministic=False)
        config = VAEGANConfig(input_dim=(1, 28, 28), latent_dim=LATENT)
        model = pm.VAEGAN(config, encoder=encoder, decoder=decoder)  # its default discriminator
        trainer_cls = pt.CoupledOptimizerAdversarialTrainer
        tcfg = pt.CoupledOptimizerAdversarialTrainerConfig(
            output_dir=out_dir, encoder_learning_rate=2e-4, decoder_learning_rate=2e-4,
            discriminator_learning_rate=2e-4, encoder_optimizer_params=gan_adam,
            decoder_optimizer_params=gan_adam, discriminator_optimizer_params=gan_adam, **common,
        )  # fmt: skip
    dataset = BaseDataset(train_x, torch.zeros(len(train_x)))
    trainer = trainer_cls(model=model, train_dataset=dataset, training_config=tcfg)
    seconds, cpu_seconds = [], []
    timed_step = trainer.train_step

    def train_step(epoch):
        start, cpu_start = time.perf_counter(), time.thread_time()
        result = timed_step(epoch)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.thread_time() - cpu_start)
        return result

    trainer.train_step = train_step
    trainer.train()
    model = trainer.model.eval()  # the last weights, as aegan's are evaluated
    images = len(train_x) * epochs
    out = {"images_per_s": images / sum(seconds), "images_per_cpu_s": images / sum(cpu_seconds),
           "train_s": sum(seconds), "epoch_s": seconds, "train_cpu_s": sum(cpu_seconds)}  # fmt: skip
    if not evaluate:
        return out, model
    with torch.no_grad():
        if pair == "vae":
            start = time.perf_counter()
            out["test_nll_nats"] = -float(model.get_nll(test_x, n_samples=IWAE_K, batch_size=100))
            out["eval_s"] = time.perf_counter() - start
        else:
            recon = torch.cat([model.decoder(model.encoder(x).embedding).reconstruction
                               for x in test_x.split(1000)])  # fmt: skip
            out["test_mse"] = F.mse_loss(recon, test_x).item()
    return out, model
