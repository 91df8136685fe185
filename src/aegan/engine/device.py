"""Where a run computes: the device, the seed, and the CPU threads of evaluation."""

from __future__ import annotations

import contextlib
import os
import random
import re
from collections.abc import Iterator

import numpy as np
import torch

from aegan.errors import ConfigError, refused_value
from aegan.speed.eager import eager_if_compiled

DEVICES = ("auto", "cpu", "cuda")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def resolve_device(name: str | torch.device, key: str = "trainer.device") -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cuda:N`` for one card. ``key``: the
    setting named in errors."""
    if isinstance(name, torch.device):  # a notebook's load_run(device=torch.device(...))
        name = str(name)
    if not isinstance(name, str) or (
        name not in DEVICES and not (name.startswith("cuda:") and name[5:].isdigit())
    ):
        raise ConfigError(
            f"{key}={refused_value(name)} is not allowed; choose one of: auto, cpu, cuda, cuda:N"
        )
    check_thread_variables()
    if name != "cpu" and not torch.cuda.is_available():
        check_visible_devices(key, name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"{key}={name} but CUDA is not available here; use {key}=cpu or auto")
        if ":" in name and int(name[5:]) >= torch.cuda.device_count():
            raise ConfigError(f"{key}={name}: this machine has {torch.cuda.device_count()} GPUs")
    return torch.device(name)


def check_visible_devices(key: str, name: str) -> None:
    """A ``CUDA_VISIBLE_DEVICES`` whose first entry names no GPU hides every GPU (CUDA reads
    it up to the first entry that is no index or UUID): ``auto`` then trained on the CPU
    without a word. Empty or -1, the ways to hide them on purpose, are left as they are."""
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    first = (value or "").split(",")[0].strip()
    if not first or re.fullmatch(r"-?\d+", first, re.ASCII) or first.startswith(("GPU-", "MIG-")):
        return
    raise ConfigError(
        f"CUDA_VISIBLE_DEVICES={value!r} is not allowed with {key}={name}: its first entry "
        f"names no GPU (an index, GPU-UUID or MIG-UUID), so CUDA sees none; fix or unset it, "
        f"or use {key}=cpu"
    )


def check_thread_variables() -> None:
    """``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS``, where set, are positive integers (OpenMP
    takes a list of them): OpenMP takes anything else for all cores, with a warning of its
    own, and MKL for one thread, without a word."""
    for variable in THREAD_VARIABLES:
        value = os.environ.get(variable, "")
        if value.strip() and not re.fullmatch(
            r"\s*0*[1-9]\d*\s*(,\s*0*[1-9]\d*\s*)*", value, re.ASCII
        ):
            raise ConfigError(
                f"{variable}={value!r} is not allowed: it must be a positive integer (threads "
                "per process), or unset"
            )


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seed_rank_stream(seed: int, step: int, rank: int) -> None:
    """Under torchrun, rank ``rank``'s own random stream from ``step`` on. Every rank starts
    from the same seed (identical initial weights), and one stream on every rank would draw
    the same GAN latents, VAE noise and dropout masks on each: 2 processes at batch B would
    train on B draws, not 2B. Derived again at the start and after each checkpoint, from
    (seed, step, rank), a resume from a checkpoint goes on with every rank's stream."""
    mixed = (seed * 1_000_003 + step) * 1_009 + rank + 1
    torch.manual_seed(mixed % (2**63 - 1))


def eval_batch_size(configured: int | None, device: torch.device) -> int:
    """``trainer.eval_batch_size``, else 256 images on the CPU (each layer's output stays in
    the cache and its memory is reused: no page faults) and 1000 elsewhere (fewer launches)."""
    if configured:
        return configured
    return 256 if device.type == "cpu" else 1000


def available_cores() -> int:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cores_of_this_process() -> int:
    """``available_cores`` shared by the processes torchrun started on this machine
    (``LOCAL_WORLD_SIZE``): each of two ranks validating on every core ran 4 threads on 2."""
    try:
        processes = launch_int("LOCAL_WORLD_SIZE", 1, None)
    except ConfigError:  # refused as a run starts (distributed.launch); reading back: one
        processes = 1
    return max(1, available_cores() // processes)


_threads_chosen = False  # trainer.cpu_threads set: evaluation keeps the training's count


@contextlib.contextmanager
def threads_chosen(chosen: bool) -> Iterator[None]:
    """Within the block, ``chosen``: the training's thread count is the user's
    (``trainer.cpu_threads``), and its evaluations keep it (on a machine other jobs share,
    a thread per core ran validation 3-8 times slower than one)."""
    global _threads_chosen
    before, _threads_chosen = _threads_chosen, chosen
    try:
        yield
    finally:
        _threads_chosen = before


@contextlib.contextmanager
def evaluation_threads(device: torch.device) -> Iterator[None]:
    """On the CPU, run the block on every core this process may use (its share under
    torchrun), then restore the training's thread count: the autoencoder trains on one
    thread (its steps are too small to split), but evaluation batches are not; not where
    the user chose the training's count (``threads_chosen``). Compiled networks run eager
    inside: compiled for training, they would compile again for eval mode and each batch
    shape."""
    training_threads = torch.get_num_threads()
    cores = cores_of_this_process()
    with eager_if_compiled():
        if device.type != "cpu" or cores <= training_threads or _threads_chosen:
            yield
            return
        torch.set_num_threads(cores)
        try:
            yield
        finally:
            torch.set_num_threads(training_threads)


def launch_int(name: str, low: int, high: int | None) -> int:
    """The integer in the environment variable ``name`` (``low`` where it is unset)."""
    text = os.environ.get(name, "").strip() or str(low)
    try:
        value = int(text)
    except ValueError:  # "x", "1.5"
        value = None
    if value is None or value < low or (high is not None and value > high):
        allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise ConfigError(
            f"{name}={text!r:.40} is not allowed: it must be an integer {allowed} (torchrun "
            "sets it; unset it to train in one process)"
        )
    return value
