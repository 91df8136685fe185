#!/usr/bin/env python
"""Where aegan's training step spends its time in the pythae pairs, against 3x pythae:

    .venv/bin/pip install pythae==0.1.2   # not a dependency of aegan
    .venv/bin/python scripts/step_floor.py [--pairs vae,aae,vae_gan] [--rounds 10] [OVERRIDE ...]

For each pair of ``scripts/compare_pythae.py`` (its dense networks and settings, batch 64,
one thread): pythae's own trainer for one epoch (its images/s as that script times them),
then aegan's training iteration as the engine runs it (``aegan.bench.project_step``),
timed in rounds, and under torch's profiler: its matrix products (``aten::mm``, ``addmm``)
are work that no framework can skip, so a step cannot take less. For the VAE, the same
step as a plain autograd loop (no engine, no scalars) and written out without autograd
(gradients by hand, checked against autograd's), both with the same fused Adam, are timed
in turns with aegan's: what the engine costs, and what remains once autograd is gone. OVERRIDEs go to aegan's side (``trainer.precision=bf16``). One JSON line
per pair to ``--out``; docs/comparison-pythae.md has the figures.
"""

from __future__ import annotations

# first, before the seconds torch and Hydra take: a stop signal while they import is one line
from aegan.signals.starting_signals import work_began

# isort: split

import json
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from aegan.cli.script_args import ArgumentParser, count_argument, file_argument, names_argument

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare_pythae as pairs  # noqa: E402  (its dense networks and overrides)
import pythae_runs  # noqa: E402

MATRIX_PRODUCTS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"}
# the pairs --pairs takes: each timed against pythae's model of it
PAIRS = ("vae", "aae", "vae_gan")
main_module = sys.modules["__main__"]  # compare_pythae's overrides name its networks here
for name in ("dense_gan_encoder", "dense_gan_decoder", "DenseGanDiscriminator"):
    setattr(main_module, name, getattr(pairs, name))


def aegan_iteration(pair: str, overrides: list[str]) -> tuple[Callable[[], None], object, bool]:
    """The engine's iteration for the pair (``aegan.bench.project_step``), its data, and
    whether the engine flushes denormals for it."""
    from aegan.bench import project_step
    from aegan.config import compose_config
    from aegan.data import load_data
    from aegan.speed import flushes_denormals

    cfg = compose_config(pairs.aegan_overrides(pair, 1, 0, overrides))
    data = load_data(cfg.data, data_dir=str(pairs.ROOT / "data"))
    cpu = torch.device("cpu")
    return project_step(cfg, data, cpu), data, flushes_denormals(cfg.trainer, cpu)


def vae_batches(data) -> Callable[[], torch.Tensor]:
    """Batches of 64 training images in [0, 1], shuffled as the engine's, epoch after epoch."""
    from aegan.data import DeviceBatches, normalize

    batches, epoch = DeviceBatches(data.train_images, batch_size=64, seed=0), 0
    iterator = iter(batches.epoch(epoch))

    def next_batch() -> torch.Tensor:
        nonlocal iterator, epoch
        batch = next(iterator, None)
        if batch is None:
            epoch += 1
            iterator = iter(batches.epoch(epoch))
            batch = next(iterator)
        return normalize(batch, "unit")

    return next_batch


def vae_loss(net, x: torch.Tensor) -> torch.Tensor:
    """-ELBO per image with one draw of z, through autograd (the VAE task's own pieces)."""
    from aegan.losses import bernoulli_nll
    from aegan.models.vae import reparameterize
    from aegan.tasks.vae import gaussian_kl

    mean, logvar = net.encode(x)
    logits = net.decode_logits(reparameterize(mean, logvar))
    return (bernoulli_nll(logits, x) + gaussian_kl(mean, logvar).sum(1)).mean()


def vae_and_adam():
    """The pair's dense VAE (784-64-(32, 32), 32-32-64-784) and fused Adam 1e-3 with aegan's
    direct step (after a first step on zero gradients: it makes the state, moves nothing)."""
    from aegan.models.vae import DenseVAE
    from aegan.speed.direct_step import use_direct_step

    torch.manual_seed(0)
    net = DenseVAE()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    use_direct_step(optimizer)
    for p in net.parameters():
        p.grad = None
    return net, optimizer


def plain_autograd_vae(data) -> Callable[[], None]:
    """The same VAE step as a bare autograd loop: no engine, no scalars."""
    net, optimizer = vae_and_adam()
    params, next_batch = list(net.parameters()), vae_batches(data)

    def step() -> None:
        loss = vae_loss(net, next_batch())
        for p in params:
            p.grad = None
        loss.backward()
        optimizer.step()

    return step


def written_out_vae(data) -> Callable[[], None]:
    """The same VAE step with every gradient written out by hand: no autograd."""
    from aegan.losses import bernoulli_nll

    net, optimizer = vae_and_adam()
    (w1, b1), (w2, b2) = [(m.weight, m.bias) for m in net.encoder if hasattr(m, "weight")]
    (w3, b3), (w4, b4), (w5, b5) = [(m.weight, m.bias) for m in net.decoder if hasattr(m, "weight")]
    params = [w1, b1, w2, b2, w3, b3, w4, b4, w5, b5]
    grads = [torch.zeros_like(p) for p in params]
    next_batch = vae_batches(data)

    @torch.no_grad()
    def gradients(x: torch.Tensor) -> torch.Tensor:
        """Fill ``grads`` with d(loss)/d(params); return the loss (-ELBO per image)."""
        n, d = len(x), w3.shape[1]
        x = x.flatten(1)  # (B, 784)
        h1 = torch.addmm(b1, x, w1.t()).relu_()  # (B, 64)
        out = torch.addmm(b2, h1, w2.t())  # (B, 2 d)
        mean, logvar = out[:, :d], out[:, d:]
        std = torch.exp(0.5 * logvar)
        noise = torch.randn_like(std)
        z = torch.addcmul(mean, noise, std)
        h3 = torch.addmm(b3, z, w3.t()).relu_()
        h4 = torch.addmm(b4, h3, w4.t()).relu_()
        logits = torch.addmm(b5, h4, w5.t())  # (B, 784)
        variance = std * std
        kl = 0.5 * (mean.square() + variance - 1 - logvar).sum(1)
        loss = (bernoulli_nll(logits, x) + kl).mean()
        g_logits = (torch.sigmoid(logits) - x).div_(n)
        torch.mm(g_logits.t(), h4, out=grads[8]), torch.sum(g_logits, 0, out=grads[9])
        g4 = (g_logits @ w5).mul_(h4 > 0)
        torch.mm(g4.t(), h3, out=grads[6]), torch.sum(g4, 0, out=grads[7])
        g3 = (g4 @ w4).mul_(h3 > 0)
        torch.mm(g3.t(), z, out=grads[4]), torch.sum(g3, 0, out=grads[5])
        g_z = g3 @ w3
        g_logvar = torch.addcmul((variance - 1) * (0.5 / n), g_z * noise, std, value=0.5)
        g_out = torch.cat([g_z + mean / n, g_logvar], 1)
        torch.mm(g_out.t(), h1, out=grads[2]), torch.sum(g_out, 0, out=grads[3])
        g1 = (g_out @ w2).mul_(h1 > 0)
        torch.mm(g1.t(), x, out=grads[0]), torch.sum(g1, 0, out=grads[1])
        return loss

    x = next_batch()
    torch.manual_seed(1)
    loss = gradients(x)
    torch.manual_seed(1)
    reference = vae_loss(net, x)
    reference.backward()
    torch.testing.assert_close(loss, reference.detach())
    for p, g in zip(params, grads, strict=True):
        torch.testing.assert_close(g, p.grad, rtol=1e-4, atol=1e-6)  # the hand-written ones
        p.grad = g  # the optimizer reads them from here on

    def step() -> None:
        gradients(next_batch())
        optimizer.step()

    return step


def round_robin_ms(steps: dict[str, Callable[[], None]], flush: bool, rounds: int) -> dict:
    """Median ms per call of each step, timed in turns as ``aegan.bench`` times (one thread,
    the engine's flush-to-zero mode for all)."""
    from aegan.timing import Timed, time_round_robin

    timed = [Timed(name, step, 1, flush_denormal=flush) for name, step in steps.items()]
    time_round_robin(timed, steps=300, warmup=50, repeats=rounds, device=torch.device("cpu"))
    for entry in timed:
        if entry.error:
            raise RuntimeError(f"{entry.name}: {entry.error}")
    return {entry.name: statistics.median(entry.wall) * 1e3 for entry in timed}


def matrix_product_ms(step: Callable[[], None], n: int = 200) -> tuple[float, float]:
    """(ms of matrix products, ms of all ops' own CPU time) per call, from the profiler."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(n):
            step()
    events = prof.key_averages()
    own = sum(e.self_cpu_time_total for e in events) / n / 1e3
    return sum(e.self_cpu_time_total for e in events if e.key in MATRIX_PRODUCTS) / n / 1e3, own


def main() -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=names_argument(PAIRS), default="vae,aae,vae_gan")
    parser.add_argument("--rounds", type=count_argument, default=10)
    parser.add_argument(
        "--out",
        type=file_argument,
        default=pairs.ROOT / f"docs/benchmarks/floor-{pairs.DATE}.jsonl",
    )
    parser.add_argument("overrides", nargs="*", help="aegan overrides, e.g. trainer.precision=bf16")
    args = parser.parse_args()
    pythae_runs.require_pythae("scripts/step_floor.py")
    work_began()  # from here on its Ctrl-C is Python's
    torch.set_num_threads(1)
    train_x, test_x = pairs.load_images()
    for pair in args.pairs:
        load_before = os.getloadavg()[0]
        pythae, _ = pythae_runs.run_pythae(pair, train_x, test_x, epochs=1, seed=0, evaluate=False)
        pythae_ms = 64 / pythae["images_per_s"] * 1e3
        torch.set_num_threads(1)
        iteration, data, flush = aegan_iteration(pair, args.overrides)
        steps = {"aegan": iteration}
        if pair == "vae" and not args.overrides:
            steps["plain_autograd"] = plain_autograd_vae(data)
            steps["written_out"] = written_out_vae(data)
        medians = round_robin_ms(steps, flush, args.rounds)
        products, own = matrix_product_ms(iteration)
        line = {"pair": pair, "date": pairs.DATE, "machine": pairs.machine(),
                "torch": torch.__version__, "threads": 1, "batch_size": 64,
                "overrides": args.overrides, "flush_denormal": flush, "pythae_ms_per_batch": pythae_ms,
                "three_times_pythae_ms": pythae_ms / 3, "aegan_ms": medians["aegan"],
                "plain_autograd_ms": medians.get("plain_autograd"),
                "written_out_ms": medians.get("written_out"), "matrix_products_ms": products,
                "profiled_ms": own, "load_1min": [load_before, os.getloadavg()[0]]}  # fmt: skip
        print(f"{pair:8s} pythae {pythae_ms:.2f} ms a batch (3x: {pythae_ms / 3:.2f}); aegan "
              f"{medians['aegan']:.2f} ms, of which matrix products {products:.2f}"
              + (f"; a plain autograd loop {medians['plain_autograd']:.2f}, written out "
                 f"{medians['written_out']:.2f}" if "written_out" in medians else ""),
              flush=True)  # fmt: skip
        with open(args.out, "a") as fh:
            fh.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
