#!/usr/bin/env python
"""Where the DCGAN's GPU step spends its time: kernel times from torch.profiler.

    python scripts/probe_dcgan_gpu.py [--batch 256] [--iters 50]      # on CUDA (bf16, NHWC)
    PROBE_DEVICE=cpu python scripts/probe_dcgan_gpu.py --batch 8 --iters 1   # a rehearsal

Prints (1) each convolution of the default 28x28 DCGAN alone, forward and forward + weight
gradient, with its TFLOPS; (2) before/after pairs on the same layers: the discriminator's
head on NCHW-order against NHWC-order features, and the 1-channel layers plain against
padded to 8 channels (``trainer.pad_thin_convs``); (3) the kernel table of the task's
step, eager (with the copies it makes, by tensor shape) and captured
(``trainer.capture_step``) without and with ``pad_thin_convs``, then with ``compile=default``
too (the fastest configuration measured), with the kernel count and kernel time per step;
``--step`` profiles other overrides instead. Times are GPU kernel time, launch gaps excluded.
"""

from __future__ import annotations

# first, before the seconds torch and Hydra take: a stop signal while they import is one line
from aegan.signals.starting_signals import work_began

# isort: split

import os

import torch
from hydra.errors import HydraException
from torch import nn

from aegan.cli.hydra_errors import composition_line, hydra_error_line
from aegan.cli.script_args import ArgumentParser, count_argument
from aegan.errors import USER_ERRORS
from aegan.models import Discriminator, Generator

DEV = os.environ.get("PROBE_DEVICE", "cuda")  # cpu: a rehearsal (CPU times)


def kernel_ms(fn, iters: int) -> float:
    """GPU kernel time of one ``fn()`` call in ms (profiler: launch gaps excluded)."""
    from torch.profiler import ProfilerActivity, profile

    sync = torch.cuda.synchronize if DEV == "cuda" else (lambda: None)
    for _ in range(3):
        fn()
    sync()
    activity = ProfilerActivity.CUDA if DEV == "cuda" else ProfilerActivity.CPU
    with profile(activities=[activity]) as prof:
        for _ in range(iters):
            fn()
        sync()
    if DEV != "cuda":
        return sum(e.self_cpu_time_total for e in prof.key_averages()) / iters / 1e3
    cuda = torch.autograd.DeviceType.CUDA
    total_us = sum(e.self_device_time_total for e in prof.key_averages() if e.device_type == cuda)
    return total_us / iters / 1e3


def layer_table(batch: int, iters: int) -> None:
    """Each convolution of the default 28x28 DCGAN alone: kernel time and TFLOPS."""
    dev, cl = DEV, torch.channels_last
    g = Generator().to(dev).to(memory_format=cl)
    d = Discriminator().to(dev).to(memory_format=cl)
    convs = {  # name: (layer, input shape)
        "G convT 256->128 s1 7x7": (g.upsample[0], (batch, 256, 7, 7)),
        "G convT 128->128 s2 7->14": (g.upsample[3], (batch, 128, 7, 7)),
        "G convT 128->1 s2 14->28": (g.upsample[6], (batch, 128, 14, 14)),
        "D conv 1->64 s2 28->14 (2B)": (d.features[0], (2 * batch, 1, 28, 28)),
        "D conv 64->128 s2 14->7 (2B)": (d.features[3], (2 * batch, 64, 14, 14)),
    }
    print(f"== layers alone, bf16 autocast, channels_last, batch {batch}, GPU kernel ms ==")
    for name, (layer, shape) in convs.items():
        x = torch.randn(shape, device=dev).to(memory_format=cl)
        with torch.no_grad(), torch.autocast(DEV, torch.bfloat16):
            y = layer(x)
        grad = torch.randn_like(y)
        kernel_area = layer.weight.shape[2] * layer.weight.shape[3]
        if isinstance(layer, nn.ConvTranspose2d):  # each input pixel scatters to k*k outputs
            macs = x.numel() * layer.out_channels * kernel_area
        else:
            macs = y.numel() * layer.in_channels * kernel_area

        def forward(layer=layer, x=x):
            with torch.no_grad(), torch.autocast(DEV, torch.bfloat16):
                layer(x)

        def forward_backward(layer=layer, x=x, grad=grad):
            with torch.autocast(DEV, torch.bfloat16):
                out = layer(x)
            out.backward(grad)

        fwd, fwd_bwd = kernel_ms(forward, iters), kernel_ms(forward_backward, iters)
        layer.zero_grad(set_to_none=True)
        print(
            f"{name:30s} fwd {fwd:7.4f} ms ({2 * macs / 1e9 / fwd:6.1f} TFLOPS)  "
            f"fwd+wgrad {fwd_bwd:7.4f}"
        )


def head_and_padding(batch: int, iters: int) -> None:
    """Before/after kernel times of the two layout changes, each on the same layers."""
    import copy

    from aegan.speed.padded_convs import pad_thin_convs

    dev, cl = DEV, torch.channels_last
    print(f"== before/after, bf16 autocast, channels_last, batch {batch}, GPU kernel ms ==")
    d = Discriminator().to(dev).to(memory_format=cl)
    x = torch.randn(2 * batch, 1, 28, 28, device=dev).to(memory_format=cl)

    def d_step(head):
        with torch.autocast(DEV, torch.bfloat16):
            logits = head(d.features(x)).squeeze(-1)
        logits.float().sum().backward()

    old, new = (
        kernel_ms(lambda: d_step(d.head), iters),
        kernel_ms(lambda: d_step(d.apply_head), iters),
    )
    print(f"D fwd+bwd (2B): NCHW-order flatten {old:.4f}   NHWC-order head {new:.4f}")

    g = Generator().to(dev).to(memory_format=cl)
    g_pad, d_pad = copy.deepcopy(g), copy.deepcopy(d)
    pad_thin_convs(g_pad, cl), pad_thin_convs(d_pad, cl)
    h = torch.randn(batch, 128, 14, 14, device=dev).to(memory_format=cl).requires_grad_(True)
    xg = torch.randn(batch, 1, 28, 28, device=dev).to(memory_format=cl).requires_grad_(True)
    layers = {
        "G convT 128->1 (fwd+all grads)": (g.upsample[6], g_pad.upsample[6], h),
        "D conv 1->64 (2B, fwd+wgrad)": (d.features[0], d_pad.features[0], x),
        "D conv 1->64 (B, fwd+wgrad+dgrad)": (d.features[0], d_pad.features[0], xg),
    }
    for name, (plain, padded, inp) in layers.items():

        def run(layer, inp=inp):
            with torch.autocast(DEV, torch.bfloat16):
                out = layer(inp)
            out.float().sum().backward()

        plain_ms = kernel_ms(lambda plain=plain: run(plain), iters)
        padded_ms = kernel_ms(lambda padded=padded: run(padded), iters)
        print(f"{name:36s} plain {plain_ms:.4f}   padded to 8 {padded_ms:.4f}")


def step_profile(batch: int, device_name: str = "cuda", *extra: str) -> None:
    """Kernel table of the task's training step (bf16, channels_last, ``extra`` overrides)."""
    from pathlib import Path

    from hydra import compose, initialize_config_dir
    from torch.profiler import ProfilerActivity, profile

    import aegan.config  # noqa: F401  (registers the config schema)
    from aegan.amp import Amp
    from aegan.data import DeviceBatches, load_data
    from aegan.engine.scalars import StepAccumulator
    from aegan.speed import build_step
    from aegan.tasks import build_task

    conf = str(Path(__file__).resolve().parents[1] / "conf")
    with initialize_config_dir(conf, version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "experiment=dcgan_fashion_mnist",
                f"trainer.device={device_name}",
                "trainer.channels_last=true",
                f"data.batch_size={batch}",
                "data.root=.gpu_wheels/fashion-mnist",
                "paths.data_dir=/tmp/aegan-data",
                *extra,
            ],
        )
    device = torch.device(device_name)
    data = load_data(cfg.data, data_dir=Path("/tmp/aegan-data")).to(device)
    task = build_task(cfg.model, data.image_shape, device)
    amp = Amp("bf16", device)
    step = build_step(task, amp, cfg.trainer, device)
    task.train()
    batches = DeviceBatches(data.train_images, batch_size=batch, seed=0)
    stats = StepAccumulator(device)
    it = batches.epoch(0)
    for i in range(10):
        stats.add(step(next(it)), i)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    steps = 20
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities, record_shapes=True) as prof:
        for i in range(steps):
            stats.add(step(next(it)), 10 + i)
        sync()
    averages = prof.key_averages()
    cuda = torch.autograd.DeviceType.CUDA
    kernels = [e for e in averages if e.device_type == cuda and e.self_device_time_total > 0]
    count = sum(e.count for e in kernels) / steps
    step_ms = sum(e.self_device_time_total for e in kernels) / steps / 1e3
    print(
        f"== step profile {list(extra)}: {count:.0f} kernels, {step_ms:.3f} ms of kernels a step =="
    )
    sort = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(averages.table(sort_by=sort, row_limit=45, max_name_column_width=90))
    # which tensors are copied (an eager step only: a graph replay records kernels, not ops)
    copies = [
        e for e in prof.key_averages(group_by_input_shape=True)
        if e.key in ("aten::copy_", "aten::clone", "aten::_to_copy", "aten::cat")
    ]  # fmt: skip
    copies.sort(key=lambda e: e.self_device_time_total or e.self_cpu_time_total, reverse=True)
    for e in copies[:15]:
        time_us = (e.self_device_time_total or e.self_cpu_time_total) / steps
        print(f"  {e.key:16s} {time_us:8.1f} us a step  x{e.count // steps}  {e.input_shapes}")


if __name__ == "__main__":
    parser = ArgumentParser()
    parser.add_argument("--batch", type=count_argument, default=256)
    parser.add_argument("--iters", type=count_argument, default=50)
    parser.add_argument(
        "--profile-only-on",
        choices=["cpu", "cuda"],
        help="skip the layer timings; profile the step on this device",
    )
    parser.add_argument(
        "--step",
        action="append",
        metavar="OVERRIDES",
        help="skip the layer timings; profile the step with these comma-separated overrides "
        "(repeatable), e.g. --step trainer.capture_step=true,trainer.compile=default",
    )
    args = parser.parse_args()
    if DEV not in ("cpu", "cuda"):  # each timing would have failed in its own traceback
        parser.error(f"PROBE_DEVICE={DEV!r} is not allowed: it must be cpu or cuda")
    # without CUDA, each timing failed in torch's words ("Found no NVIDIA driver"), on and on
    wanted = args.profile_only_on or DEV
    if wanted == "cuda" and not torch.cuda.is_available():
        given = "--profile-only-on cuda" if args.profile_only_on else f"PROBE_DEVICE={DEV}"
        parser.error(f"{given}: CUDA is not available here; a rehearsal runs on cpu")
    work_began()  # from here on its Ctrl-C is Python's
    torch.backends.cudnn.benchmark = True
    torch.set_float32_matmul_precision("high")
    try:  # the data not there, an override of no setting: one line, not a traceback
        if args.profile_only_on:
            step_profile(args.batch, args.profile_only_on, "trainer.fast_dropout=false")
            raise SystemExit
        if args.step:
            for overrides in args.step:
                step_profile(args.batch, DEV, *overrides.split(","))
            raise SystemExit
    except USER_ERRORS as err:
        parser.error(str(err))
    except HydraException as err:  # --step with an override of no setting
        parser.error(hydra_error_line(err) or composition_line(err))
    for part in (layer_table, head_and_padding):
        try:
            part(args.batch, args.iters)
        except Exception as err:  # noqa: BLE001 - a probe: report and go on
            print(f"{part.__name__} failed: {type(err).__name__}: {err}")
    for extra in (
        [],
        ["trainer.capture_step=true"],
        ["trainer.capture_step=true", "trainer.pad_thin_convs=true"],
        ["trainer.capture_step=true", "trainer.pad_thin_convs=true", "trainer.compile=default"],
    ):
        try:
            step_profile(args.batch, DEV, *extra)
        except Exception as err:  # noqa: BLE001 - a probe: report and go on
            print(f"step_profile {extra} failed: {type(err).__name__}: {err}")
