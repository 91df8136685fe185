#!/usr/bin/env python
"""pythae 0.1.2 against aegan, trained in one process on one CPU thread, same settings:

    .venv/bin/pip install pythae==0.1.2   # not a dependency of aegan
    .venv/bin/python scripts/compare_pythae.py [--pairs vae,aae,vae_gan] [--seeds 0,1,2] [--out FILE]
    .venv/bin/python scripts/compare_pythae.py --pairs vae_gan_conv --gan-epochs 1

Pairs on Fashion-MNIST (both train on aegan's 55k training split), batch 64, fp32,
``torch.set_num_threads(1)``, pythae first, then aegan, so that load hits both alike:
vae (dense 784-64-(32, 32) / 32-32-64-784, Bernoulli on grey pixels, Adam 1e-3, 10 epochs;
-log p(x) with 200 importance samples on the 10k test images, each library's weights also
under the other's bound, plus aegan with ``data.binarize=dynamic``), aae and vae_gan (the
same networks, 5 epochs; test MSE per pixel;
aegan's vae_gan gets the dense networks below through ``_target_`` overrides),
vae_gan_conv (aegan alone: its VAE-GAN recipe as configured, conv networks, bf16).
Images/s = training images / training seconds: pythae's own trainers with each epoch's
``train_step`` timed; aegan's ``train(cfg)`` with its epoch clock (the log's "epoch N time:
training X s", plus its scalar logging); also per CPU-second of the training thread.
``--variant OVERRIDE`` adds an aegan run of each pair with it (``model.optimizer.lr=5e-4``).
One JSON line per run goes to ``--out``; docs/comparison-pythae.md has the protocol.
"""

from __future__ import annotations

# first, before the seconds torch and Hydra take: a stop signal while they import is one line
from aegan.signals.starting_signals import work_began

# isort: split

import itertools
import json
import logging
import os
import time
from importlib import metadata
from pathlib import Path

import torch
from pythae_runs import HIDDEN, IWAE_K, LATENT, PIXELS, require_pythae, run_pythae
from torch import nn

from aegan.cli.script_args import (
    ArgumentParser,
    epochs_argument,
    file_argument,
    folder_argument,
    names_argument,
    seeds_argument,
)

DATE = time.strftime("%Y-%m-%d")
ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = "/usr/share/datasets/fashion-mnist"
# the pairs --pairs takes: each library's model and aegan's; vae_gan_conv is aegan's recipe alone
PAIRS = ("vae", "aae", "vae_gan", "vae_gan_conv")


def machine() -> str:
    """'N-core MODEL' from /proc/cpuinfo (each line also records the load before and after)."""
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return f"{len(models)}-core {models[0] if models else 'unknown CPU'}"


# ---- aegan's dense VAE-GAN networks (its config names convolutional ones) -------------


def dense_gan_encoder(*, image_shape, out_features: int) -> nn.Module:
    """Image -> (mean, log-variance): 784 -> 64 -> 2 x 32, as aegan's DenseVAE encoder."""
    return nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, HIDDEN), nn.ReLU(),
                         nn.Linear(HIDDEN, out_features))  # fmt: skip


def dense_gan_decoder(*, image_shape, latent_dim: int) -> nn.Module:
    """z -> image in [-1, 1] (aegan's VAE-GAN works there): 32 -> 32 -> 64 -> 784, tanh."""
    return nn.Sequential(nn.Linear(latent_dim, LATENT), nn.ReLU(), nn.Linear(LATENT, HIDDEN),
                         nn.ReLU(), nn.Linear(HIDDEN, PIXELS), nn.Tanh(),
                         nn.Unflatten(1, tuple(image_shape)))  # fmt: skip


class DenseGanDiscriminator(nn.Module):
    """Image -> features (784 -> 256, ReLU) -> one logit: pythae's default Discriminator_MLP."""

    def __init__(self, *, image_shape) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, 256), nn.ReLU())
        self.out = nn.Linear(256, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def apply_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.out(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.apply_head(self.features(x))


def cross_bounds(pythae_vae: nn.Module, run_dir: Path, test_x: torch.Tensor) -> dict:
    """Each library's trained VAE under the other's bound: the networks have the same layers,
    so the weights swap; tells a difference in training from one in the estimators."""
    from aegan import load_run
    from aegan.evaluate import evaluate_task

    run = load_run(run_dir, checkpoint="last", overrides=[f"data.root={DATA_ROOT}"])
    ours = {k: v.clone() for k, v in run.task.net.state_dict().items()}
    theirs = {f"{part}.{k}": v for part in ("encoder", "decoder")
              for k, v in getattr(pythae_vae, part).net.state_dict().items()}  # fmt: skip
    run.task.net.load_state_dict(theirs)
    with torch.no_grad():  # the swap is exact: both compute the same from the same weights
        x, z = test_x[:8], torch.randn(8, LATENT)
        same = [(run.task.net.encode(x)[0], pythae_vae.encoder(x).embedding),
                (run.task.net.decode_logits(z).sigmoid(), pythae_vae.decoder(z).reconstruction)]  # fmt: skip
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in same), "weights did not swap"
    aegan_bound = evaluate_task(run.task, run.data, run.config.evaluate)["test/iwae_nll"]
    for part in ("encoder", "decoder"):
        getattr(pythae_vae, part).net.load_state_dict(
            {k.removeprefix(f"{part}."): v for k, v in ours.items() if k.startswith(f"{part}.")}
        )
    with torch.no_grad():
        pythae_bound = -float(pythae_vae.get_nll(test_x, n_samples=IWAE_K, batch_size=100))
    return {"pythae_weights_aegan_bound": aegan_bound, "aegan_weights_pythae_bound": pythae_bound}


# ---- aegan ----------------------------------------------------------------------------


def aegan_overrides(pair: str, epochs: int, seed: int, extra: list[str]) -> list[str]:
    common = [f"data.root={DATA_ROOT}", "data.batch_size=64", f"trainer.epochs={epochs}",
              "trainer.cpu_threads=1", "trainer.device=cpu", "logger=none", f"seed={seed}"]  # fmt: skip
    if pair == "vae":
        return ["model=vae", "model.optimizer.lr=1e-3", "model.likelihood=bernoulli",
                "evaluate.metrics=[iwae]", f"evaluate.iwae_samples={IWAE_K}", *common, *extra]  # fmt: skip
    if pair == "aae":
        return ["model=aae", "evaluate.metrics=[reconstruction]", *common, *extra]
    if pair == "vae_gan_conv":  # aegan's VAE-GAN recipe as configured: conv networks, bf16
        return ["experiment=vae_gan_fashion_mnist", "evaluate.metrics=[reconstruction]", *common]
    here = "__main__"
    return [  # without the average of the encoder and decoder, which pythae does not keep
        "model=vae_gan", "model.ema_decay=0", "evaluate.metrics=[reconstruction]",
        f"model.encoder._target_={here}.dense_gan_encoder", "~model.encoder.channels",
        "~model.encoder.kernel_size", f"model.decoder._target_={here}.dense_gan_decoder",
        "~model.decoder.channels", "~model.decoder.kernel_size",
        f"model.discriminator._target_={here}.DenseGanDiscriminator",
        "~model.discriminator.channels", "~model.discriminator.kernel_size",
        "~model.discriminator.dropout", *common, *extra,
    ]  # fmt: skip


def run_aegan(pair: str, epochs: int, seed: int, extra: list[str], run_dir: Path) -> dict:
    from omegaconf import open_dict

    from aegan.config import compose_config
    from aegan.engine import loop
    from aegan.train import train

    overrides = aegan_overrides(pair, epochs, seed, extra)
    cfg = compose_config(overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
    wall, cpu = [], []

    class TimedClock(loop.Clock):  # aegan's epoch clock (its "epoch N time: training" line)
        def start_epoch(self) -> None:
            super().start_epoch()
            self.cpu_start = time.thread_time()

        def end_training(self) -> None:
            super().end_training()
            wall.append(self.train_end - self.epoch_start)  # training + its scalar logging
            cpu.append(time.thread_time() - self.cpu_start)

    loop.Clock = TimedClock
    try:
        metrics = train(cfg)
    finally:
        loop.Clock = TimedClock.__base__
    images = int(metrics["train/steps"]) * cfg.data.batch_size  # whole batches (drop_last)
    out = {
        "images_per_s": images / sum(wall),
        "images_per_cpu_s": images / sum(cpu),
        "train_s": sum(wall),
        "epoch_s": wall,
        "train_cpu_s": sum(cpu),
        "overrides": overrides,
    }
    if pair == "vae":
        out["test_nll_nats"] = metrics["test/iwae_nll"]
    else:
        out["test_mse"] = metrics["test/mse"]
    return out


# ---- the comparison -------------------------------------------------------------------


def load_images() -> tuple[torch.Tensor, torch.Tensor]:
    """aegan's training split (55k) and the 10k test images, floats in [0, 1]."""
    from aegan.config import compose_config
    from aegan.data import load_data

    cfg = compose_config([f"data.root={DATA_ROOT}"])
    data = load_data(cfg.data, data_dir=str(ROOT / "data"))
    return data.train_images.float() / 255, data.test_images.float() / 255


def run_suffix(extra: list[str]) -> str:
    """The part of an aegan run's folder name that its extra overrides make."""
    if extra == ["data.binarize=dynamic"]:
        return "-binarized"
    return "".join("-" + "".join(c if c.isalnum() else "_" for c in o) for o in extra)


def check_variants(parser: ArgumentParser, pairs: list[str], variants: list[str]) -> None:
    """Each ``--variant`` composes with each pair, before any of them trains."""
    from hydra.errors import HydraException

    from aegan.cli.hydra_errors import composition_line, hydra_error_line
    from aegan.config import compose_config, validate_config
    from aegan.errors import ConfigError

    for pair, variant in itertools.product(pairs, variants):
        try:
            validate_config(compose_config(aegan_overrides(pair, 1, 0, [variant])))
        except ConfigError as err:
            parser.error(f"--variant {variant} with the {pair} pair: {err}")
        except HydraException as err:
            line = hydra_error_line(err) or composition_line(err)
            parser.error(f"--variant {variant} with the {pair} pair: {line}")


def main() -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=names_argument(PAIRS), default="vae,aae,vae_gan")
    parser.add_argument("--vae-epochs", type=epochs_argument, default=10)
    parser.add_argument("--gan-epochs", type=epochs_argument, default=5, help="aae and vae_gan")
    parser.add_argument(
        "--seeds", type=seeds_argument, default="0", help="comma-separated; each pair once per seed"
    )
    parser.add_argument("--out", type=file_argument,
                        default=ROOT / f"docs/benchmarks/pythae-{DATE}.jsonl")  # fmt: skip
    parser.add_argument("--runs", type=folder_argument, default=ROOT / "logs/compare_pythae")
    parser.add_argument("--variant", action="append", default=[], metavar="OVERRIDE",
                        help="one more aegan run of each pair with this override (repeatable)")  # fmt: skip
    parser.add_argument("--no-cross", dest="cross", action="store_false",
                        help="vae: skip scoring each library's weights with the other's bound")  # fmt: skip
    args = parser.parse_args()
    check_variants(parser, args.pairs, args.variant)
    if set(args.pairs) - {"vae_gan_conv"}:  # each other pair trains pythae's too
        require_pythae("scripts/compare_pythae.py")
    work_began()  # from here on its Ctrl-C is Python's
    logging.basicConfig(level=logging.WARNING)
    train_x, test_x = load_images()

    common = {"date": DATE, "machine": machine(), "torch": torch.__version__, "threads": 1,
              "batch_size": 64, "train_images": len(train_x), "test_images": len(test_x)}  # fmt: skip
    runs = Path(args.runs) / time.strftime("%Y-%m-%d_%H-%M-%S")
    for pair, seed in itertools.product(args.pairs, args.seeds):
        epochs = args.vae_epochs if pair == "vae" else args.gan_epochs
        jobs = [("pythae", None), ("aegan", [])] if pair != "vae_gan_conv" else [("aegan", [])]
        if pair == "vae":
            jobs.append(("aegan", ["data.binarize=dynamic"]))
        jobs += [("aegan", [variant]) for variant in args.variant if pair != "vae_gan_conv"]
        for library, extra in jobs:
            torch.set_num_threads(1)
            load_before = os.getloadavg()[0]
            if library == "pythae":
                result, pythae_model = run_pythae(pair, train_x, test_x, epochs, seed)
                version = "pythae " + metadata.version("pythae")
            else:
                run_dir = runs / f"{pair}{run_suffix(extra)}-{seed}"
                result = run_aegan(pair, epochs, seed, extra, run_dir)
                if pair == "vae" and not extra and args.cross:
                    result.update(cross_bounds(pythae_model, run_dir, test_x))
                version = "aegan " + metadata.version("aegan")
            binarized = extra == ["data.binarize=dynamic"]
            protocol = "binarized (dynamic train, fixed test)" if binarized else "continuous pixels"
            if extra and not binarized:
                protocol += ", " + " ".join(extra)
            line = {"pair": pair, "library": library, "version": version, "epochs": epochs, "seed": seed,
                    "protocol": protocol, **common, **result,
                    "load_1min": [load_before, os.getloadavg()[0]]}  # fmt: skip
            figure = "test_nll_nats" if pair == "vae" else "test_mse"
            print(f"{pair:8s} seed {seed} {library:7s} {protocol:38s} {result['images_per_s']:8.0f} images/s "
                  f"{result['images_per_cpu_s']:8.0f} per CPU s {figure}={result[figure]:.5g}",
                  flush=True)  # fmt: skip
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            with open(args.out, "a") as fh:
                fh.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
