"""Speed switches of ``cfg.trainer``, applied to a built task from the outside.

``build_step(task, amp, trainer_cfg, device)`` returns the callable the engine runs per
batch: uint8 images in, the step's scalars out. In order:

- ``cudnn_benchmark`` (CUDA): cuDNN picks its fastest convolutions for the static shape;
- ``channels_last``: networks and batches in NHWC order (oneDNN and cuDNN run it faster);
- ``fast_dropout`` (CPU): dropout masks from 64-bit random words (``speed.dropout``);
- ``flush_denormal`` (CPU, ``denormal_mode``, for a whole run): floats below the smallest
  normal one read and written as 0, so Adam's moments of weights whose gradient stays 0 (on
  pixels that are always black) decay to 0 instead of into denormals, which x86 cores handle
  in microcode, many times slower;
- ``direct_optimizer_step``: Adam's update without ``Optimizer.step``'s per-call Python
  (``speed.direct_step``);
- ``pad_thin_convs`` (CUDA): 1-7 channel convolutions zero-padded to 8 for tensor cores
  (``speed.padded_convs``);
- ``compile`` / ``compile_scope``: torch.compile of each network or of the whole step
  (``speed.compile``);
- ``capture_step`` (CUDA): the whole iteration as one CUDA graph (``speed.capture``).

None changes what is learned (``flush_denormal`` zeroes values below 1.2e-38, which ends
runs with the same figures): checkpoints hold the same state_dicts, and a resume may use
other switches. What a task cannot take is in its ``limits`` (``check_switches``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from aegan.amp import Amp
from aegan.contract import Task
from aegan.errors import ConfigError, refused_value
from aegan.speed.capture import CapturedStep
from aegan.speed.compile import (
    COMPILE_MODES,
    COMPILE_SCOPES,
    compile_networks,
    compile_train_step,
    said_on_first_call,
    uses_cudagraphs,
)
from aegan.speed.direct_step import use_direct_step
from aegan.speed.dropout import use_fast_dropout
from aegan.speed.padded_convs import pad_thin_convs

Step = Callable[[Any], dict[str, torch.Tensor]]  # a batch (or (images, labels)) -> scalars

__all__ = [
    "COMPILE_MODES", "COMPILE_SCOPES", "Step", "build_step", "check_switches", "cpu_threads",
    "inert_switches",
]  # fmt: skip


def _active_switches(trainer_cfg: Any, world_size: int) -> list[str]:
    """The names a task's ``limits`` may list, for the switches this run turns on."""
    active = []
    if trainer_cfg.capture_step:
        active.append("capture_step")
    if trainer_cfg.compile != "none":
        active += ["compile", f"compile_scope={trainer_cfg.compile_scope}"]
    if trainer_cfg.channels_last:
        active.append("channels_last")
    if world_size > 1:
        active.append("torchrun")
    return active


def _checked_task_limits(task: Task) -> dict[str, str]:
    """The task's limits, and what any task that reads labels cannot take."""
    limits = dict(task.limits)
    if task.uses_labels:
        limits.setdefault("capture_step", "its batches carry labels, which a capture does not copy")
    return limits


def check_switches(trainer_cfg: Any, task: Task, device: torch.device, world_size: int = 1) -> None:
    """Raise ``ConfigError`` for a speed setting that cannot work here or for this task."""
    for key, value, allowed in (
        ("trainer.compile", trainer_cfg.compile, COMPILE_MODES),
        ("trainer.compile_scope", trainer_cfg.compile_scope, COMPILE_SCOPES),
    ):
        if value not in allowed:
            raise ConfigError(
                f"{key}={refused_value(value)} is not allowed; choose one of: {', '.join(allowed)}"
            )
    step_scope = trainer_cfg.compile != "none" and trainer_cfg.compile_scope == "step"
    if step_scope and world_size > 1:
        raise ConfigError(
            "trainer.compile_scope=step does not run under torchrun (the gradient average "
            "runs between backward and the optimizer); use trainer.compile_scope=network"
        )
    if trainer_cfg.capture_step:
        refusals = [
            (device.type not in ("cuda", "meta"), f"needs CUDA and this run is on {device.type}"),
            (trainer_cfg.precision == "fp16", "does not support fp16: its loss scaler runs on the host"),
            (trainer_cfg.on_nonfinite == "skip", "does not support on_nonfinite=skip (a host-side scaler)"),
            (trainer_cfg.compile == "reduce-overhead" or step_scope,
             "captures the step itself, so not with torch.compile's CUDA graphs "
             "(compile=reduce-overhead) or compile_scope=step"),
            (world_size > 1, "does not run under torchrun (the gradient average is not captured)"),
        ]  # fmt: skip
        for refused, reason in refusals:
            if refused:
                raise ConfigError(f"trainer.capture_step=true {reason}; use capture_step=false")
    limits = _checked_task_limits(task)
    for switch in _active_switches(trainer_cfg, world_size):
        if switch in limits:
            raise ConfigError(
                f"{'trainer.' + switch if switch != 'torchrun' else 'torchrun'} cannot be used "
                f"with {type(task).__name__}: {limits[switch]}"
            )


CONVOLUTIONS = (nn.Conv2d, nn.ConvTranspose2d)


def _has(task: Task, kinds: tuple[type, ...]) -> bool:
    """Whether any of ``task``'s networks holds a module of ``kinds``."""
    return any(isinstance(m, kinds) for n in task.networks.values() for m in n.modules())


def inert_switches(trainer_cfg: Any, task: Task, device: torch.device) -> dict[str, str]:
    """``{trainer.KEY: why}`` for each speed switch that does nothing for this task on
    ``device`` (``aegan.inert`` warns where the command line sets one)."""
    out = {}
    if device.type != "cuda":
        for key in ("pad_thin_convs", "cudnn_benchmark"):
            out[f"trainer.{key}"] = f"it acts on CUDA only, and this run is on {device.type}"
    elif not _has(task, CONVOLUTIONS):
        out["trainer.pad_thin_convs"] = f"{task.name} has no convolutions to pad"
    if device.type != "cpu":
        out["trainer.flush_denormal"] = f"it sets a CPU mode, and this run is on {device.type}"
    if not _has(task, CONVOLUTIONS):
        out["trainer.channels_last"] = f"{task.name} has no convolutions: no layout to change"
    if device.type != "cpu" or not _has(task, (nn.Dropout,)):
        where = (
            "has no dropout" if device.type == "cpu" else f"runs torch's dropout on {device.type}"
        )
        out["trainer.fast_dropout"] = f"{task.name} {where}"
    return out


SMALL_DENSE = 10**6  # parameters: dense networks below this gain nothing from more threads


def cpu_threads(trainer_cfg: Any, task: Task) -> int | None:
    """Torch threads for training: ``trainer.cpu_threads``; else 1 for small dense networks
    (the article's autoencoder: its matmuls are too small to split, and on a busy machine a
    second thread waits), else None (torch's default: one per core, for convolutions)."""
    if trainer_cfg.cpu_threads:
        return trainer_cfg.cpu_threads
    size = sum(p.numel() for n in task.networks.values() for p in n.parameters())
    return None if _has(task, CONVOLUTIONS) or size >= SMALL_DENSE else 1


def denormals_flushed() -> bool:
    """Whether this thread reads and writes floats below 1.2e-38 as 0 (x86 FTZ and DAZ)."""
    return torch.tensor([1e-39]).mul(1.0).item() == 0.0


def flushes_denormals(trainer_cfg: Any, device: torch.device) -> bool:
    """``trainer.flush_denormal`` where it means something: x86's FTZ/DAZ is a CPU mode."""
    return bool(trainer_cfg.flush_denormal) and device.type == "cpu"


@contextlib.contextmanager
def denormal_mode(flush: bool) -> Iterator[None]:
    """``trainer.flush_denormal`` for the block (training and the final evaluation); the mode
    it found comes back after, so a notebook or a test that trains in-process keeps its own
    floating-point behaviour. The mode is the calling thread's, where the eager step runs."""
    before = denormals_flushed()
    torch.set_flush_denormal(flush)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def build_step(task: Task, amp: Amp, trainer_cfg: Any, device: torch.device) -> Step:
    """The training iteration for ``task`` under ``trainer_cfg``'s speed switches.

    Call once, after the task is built (and restored, for capture) and ``check_switches``.
    """
    networks = list(task.networks.values())
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = bool(trainer_cfg.cudnn_benchmark)
    memory_format = torch.channels_last if trainer_cfg.channels_last else torch.contiguous_format
    for network in networks:
        if trainer_cfg.channels_last:
            network.to(memory_format=torch.channels_last)  # in place: optimizers keep their params
        if trainer_cfg.fast_dropout:
            use_fast_dropout(network)
        if trainer_cfg.pad_thin_convs and device.type == "cuda":
            pad_thin_convs(network, memory_format)
    if trainer_cfg.direct_optimizer_step:
        for optimizer in task.optimizers.values():
            use_direct_step(optimizer, compiled=trainer_cfg.compile != "none")

    params = [p for o in task.optimizers.values() for g in o.param_groups for p in g["params"]]
    train_step = task.train_step
    if trainer_cfg.compile != "none":
        # Dynamo keeps 8 compiled versions of a function, then runs it uncompiled, and each
        # run's networks are new: the 9th compiled run in a process (a notebook's loop, a
        # sweep's jobs) trained uncompiled. What an earlier run (or the caller) compiled goes.
        torch.compiler.reset()
        if trainer_cfg.compile_scope == "step":
            train_step = compile_train_step(task, trainer_cfg.compile)
        else:
            compile_networks(task, trainer_cfg.compile, captured=trainer_cfg.capture_step)

    def train(batch: Any) -> dict[str, torch.Tensor]:
        for param in params:  # what zero_grad(set_to_none=True) does, without its wrapper
            param.grad = None
        if isinstance(batch, tuple):  # (images, labels)
            return train_step((batch[0].contiguous(memory_format=memory_format), batch[1]), amp)
        return train_step(batch.contiguous(memory_format=memory_format), amp)

    if trainer_cfg.compile != "none":
        train = said_on_first_call(train, task, trainer_cfg.compile, trainer_cfg.compile_scope)
    if trainer_cfg.capture_step:
        train = CapturedStep(list(task.optimizers.values()), train)
    mark_step = uses_cudagraphs(trainer_cfg.compile, device, captured=trainer_cfg.capture_step)

    def step(batch: Any) -> dict[str, torch.Tensor]:
        if mark_step:  # outputs of the last iteration's graph replays may be overwritten now
            torch.compiler.cudagraph_mark_step_begin()
        stats = train(batch)
        amp.update()
        return stats

    return step
