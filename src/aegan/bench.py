"""Throughput of the project's training step against a plain PyTorch loop, in one process.

    python -m aegan.bench model=autoencoder|dcgan [batch_size=N] [steps=N] [precisions=[bf16,fp32]]

The project side runs exactly the engine's iteration (``engine.loop.run_step``) over
device-resident batches. The plain side is what a tutorial writes: torchvision
``FashionMNIST`` + ``ToTensor`` + ``DataLoader(shuffle=True)``, the same network, fp32,
eager, default Adam. Warm-up (and compile) steps are excluded; each side is timed
``repeats`` times and the median is reported. One JSON line per configuration.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import hydra
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

from aegan.config import validate_config
from aegan.data import DeviceBatches, ImageData, load_data
from aegan.engine import Amp, resolve_device, seed_everything
from aegan.engine.loop import StepAccumulator, run_step
from aegan.tasks import build_task

log = logging.getLogger("aegan.bench")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_steps(
    step: Callable[[], None], *, steps: int, warmup: int, repeats: int, device
) -> float:
    """Median seconds per step over ``repeats`` timed runs of ``steps`` steps each."""
    for _ in range(warmup):
        step()
    _sync(device)
    per_step = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        _sync(device)
        per_step.append((time.perf_counter() - start) / steps)
    return statistics.median(per_step)


def _cycle(make_iterator: Callable[[int], Iterator]) -> Callable[[], object]:
    """A ``next()`` that starts a new epoch when one runs out."""
    state = {"epoch": 0, "it": make_iterator(0)}

    def next_batch():
        try:
            return next(state["it"])
        except StopIteration:
            state["epoch"] += 1
            state["it"] = make_iterator(state["epoch"])
            return next(state["it"])

    return next_batch


def project_step(
    cfg: DictConfig, data: ImageData, precision: str, device: torch.device
) -> Callable[[], None]:
    """The engine's own iteration: device batches, the task's step, AMP, the step accumulator."""
    with open_dict(cfg):
        cfg.trainer.precision = precision
    task = build_task(cfg.model, data, device, projector_samples=0)
    task.train()
    amp = Amp(precision, device)
    batches = DeviceBatches(
        data.train_images, data.train_labels, batch_size=cfg.data.batch_size, seed=0
    )
    next_batch = _cycle(batches.epoch)
    stats = StepAccumulator(device)
    counter = {"step": 0}

    def step() -> None:
        images_u8, _ = next_batch()
        run_step(task, amp, images_u8, stats, counter["step"])
        counter["step"] += 1
        if counter["step"] % 100 == 0:  # the engine reads its scalars this often
            stats.read()

    return step


def torchvision_root(data: ImageData, data_dir: Path) -> Path:
    """A folder in torchvision's layout (FashionMNIST/raw/ with unpacked IDX files) for the plain loop."""
    raw = data_dir / "FashionMNIST" / "raw"
    names = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ]
    if not all((raw / n).is_file() for n in names):
        raw.mkdir(parents=True, exist_ok=True)
        for name in names:
            source = Path(data.source) / name
            if source.is_file():
                shutil.copyfile(source, raw / name)
            else:
                with (
                    gzip.open(source.with_name(name + ".gz"), "rb") as f_in,
                    open(raw / name, "wb") as f_out,
                ):
                    shutil.copyfileobj(f_in, f_out)
    return data_dir


def plain_step(
    cfg: DictConfig, data: ImageData, data_dir: Path, device: torch.device
) -> Callable[[], None]:
    """What pytorch/examples and the tutorials do: DataLoader + ToTensor, fp32, eager, Adam()."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    dataset = datasets.FashionMNIST(
        str(torchvision_root(data, data_dir)), train=True, transform=transforms.ToTensor()
    )
    loader = DataLoader(dataset, batch_size=cfg.data.batch_size, shuffle=True, drop_last=True)
    next_batch = _cycle(lambda _epoch: iter(loader))
    shape = list(data.image_shape)
    if cfg.model.task == "autoencoder":
        net = instantiate(cfg.model.net, image_shape=shape).to(device)
        optimizer = torch.optim.Adam(net.parameters())

        def step() -> None:
            x, _ = next_batch()
            x = x.to(device)
            optimizer.zero_grad()
            loss = F.mse_loss(torch.sigmoid(net(x)), x)
            loss.backward()
            optimizer.step()

        return step

    generator = instantiate(cfg.model.generator, image_shape=shape).to(device)
    discriminator = instantiate(cfg.model.discriminator, image_shape=shape).to(device)
    g_opt, d_opt = (
        torch.optim.Adam(generator.parameters()),
        torch.optim.Adam(discriminator.parameters()),
    )
    bce = torch.nn.BCEWithLogitsLoss()

    def gan_step() -> None:
        x, _ = next_batch()
        x = x.to(device) * 2 - 1
        z = torch.randn(x.shape[0], cfg.model.latent_dim, device=device)
        fake = generator(z)
        d_opt.zero_grad()
        real_logits, fake_logits = discriminator(x), discriminator(fake.detach())
        d_loss = bce(real_logits, torch.ones_like(real_logits)) + bce(
            fake_logits, torch.zeros_like(fake_logits)
        )
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad()
        fake_logits = discriminator(fake)
        g_loss = bce(fake_logits, torch.ones_like(fake_logits))
        g_loss.backward()
        g_opt.step()

    return gan_step


def benchmark(cfg: DictConfig) -> list[dict]:
    """Time the plain loop once and the project's step for each precision; return the rows."""
    validate_config(cfg)
    if cfg.trainer.cpu_threads:
        torch.set_num_threads(cfg.trainer.cpu_threads)
    device = resolve_device(cfg.trainer.device)
    seed_everything(cfg.seed)
    data_dir = Path(cfg.paths.data_dir).expanduser().resolve()
    data = load_data(cfg.data, data_dir=data_dir)
    if cfg.data.name != "fashion_mnist":
        raise ValueError(f"data={cfg.data.name}: the plain reference loop reads Fashion-MNIST only")
    timing = dict(steps=cfg.steps, warmup=cfg.warmup, repeats=cfg.repeats, device=device)
    plain = _time_steps(plain_step(cfg, data, data_dir, device), **timing)
    device_data = data.to(device)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    rows = []
    for precision in cfg.precisions:
        seconds = _time_steps(project_step(cfg, device_data, precision, device), **timing)
        batch = cfg.data.batch_size
        rows.append({
            "model": cfg.model.task if cfg.model.task == "autoencoder" else "dcgan",
            "device": device.type, "device_name": device_name, "threads": torch.get_num_threads(),
            "precision": precision, "compile": "none", "batch_size": batch,
            "project_images_per_sec": round(batch / seconds, 1),
            "plain_images_per_sec": round(batch / plain, 1),
            "ratio": round(plain / seconds, 2),
            "project_ms_per_step": round(seconds * 1e3, 3), "plain_ms_per_step": round(plain * 1e3, 3),
            "steps": cfg.steps, "repeats": cfg.repeats, "date": dt.date.today().isoformat(),
        })  # fmt: skip
    return rows


@hydra.main(version_base="1.3", config_path="../../conf", config_name="bench")
def main(cfg: DictConfig) -> None:
    if cfg.batch_size:
        with open_dict(cfg):
            cfg.data.batch_size = cfg.batch_size
    out = Path(cfg.paths.output_dir) / "bench.jsonl"
    for row in benchmark(cfg):
        line = json.dumps(row)
        print(line, flush=True)
        with out.open("a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
