"""Speed switches of ``cfg.trainer``, applied to a built task in one place (``accelerate``).

- ``channels_last``: the task's networks (their 4-d weights) and every training batch in
  NHWC memory order, which oneDNN (CPU, bf16) and cuDNN (tensor cores) run faster;
- ``fast_dropout``: CPU dropout masks drawn 4 to a 64-bit random word (``FastDropout``)
  instead of one ``bernoulli`` draw per element, torch's slow serial CPU path;
- ``compile``: ``torch.compile`` (mode none | default | reduce-overhead | max-autotune) of
  what ``compile_scope`` names:
  - ``network``: each network separately, used only for the training forward passes, like
    DDP: ``task.modules`` keep the plain networks, so checkpoints hold plain state_dicts (no
    ``_orig_mod.`` prefix) and validation runs eager;
  - ``step``: the task's whole iteration (``Task.train_batch``: normalisation, forward,
    loss, backward and optimizer update), so that a tiny network pays the Python and
    dispatch cost of a few graph calls per step instead of one per op; Dynamo traces the
    backward (``trace_autograd_ops``) and the optimizer. The autoencoder only: a GAN step
    back-propagates its generator output twice, which does not compile;
- ``capture_step``: the whole iteration captured in one CUDA graph after a few eager
  steps and replayed per batch (``engine.capture``; CUDA only, with or without compile);
- ``cudnn_benchmark``: cuDNN picks the fastest convolution algorithms for the (static)
  batch shape; CUDA only, ignored elsewhere;
- ``direct_optimizer_step``: Adam's update without ``Optimizer.step``'s per-call Python
  (``engine.direct_step``);
- ``pad_thin_convs``: convolutions with 1-7 channels on their thin side run zero-padded to
  8 channels (``engine.padded_convs``); CUDA only, ignored elsewhere.

``reduce-overhead`` captures each compiled network in CUDA graphs (on CUDA; elsewhere it is
``default``), and so does ``max-autotune`` unless the step is captured whole (``capture_step``;
it is then torch's ``max-autotune-no-cudagraphs``). The batch shape is static
(``drop_last``, ``dynamic=False``), each training iteration starts with
``torch.compiler.cudagraph_mark_step_begin()`` (``run_step``), and the BatchNorm running
statistics are buffers of the captured modules, updated in place inside the graph; the
eval-mode networks (validation, samples, EMA) are never captured.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from aegan.engine.amp import ConfigError
from aegan.engine.direct_step import use_direct_step
from aegan.engine.padded_convs import pad_thin_convs

COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune")
COMPILE_SCOPES = ("network", "step")

WORD_BITS = 16  # bits of randomness per dropout decision: p is exact to 1 / 65536


class FastDropout(nn.Dropout):
    """``nn.Dropout`` (same ``p``, same scaling, same state_dict) with cheaper CPU masks.

    On the CPU, torch draws one ``bernoulli`` per element in a serial loop (~15 ns each on
    non-Intel processors, where it skips MKL). Here each 64-bit draw of the same generator
    gives four 16-bit uniforms: an element is kept when its uniform is >= ``p`` rounded to
    1/65536, and kept elements are scaled by 1 / (1 - that p), so the output's expectation is
    the input. The mask has the input's memory order (channels_last stays channels_last).
    On other devices and inside ``torch.compile`` it is ``F.dropout`` (fused kernels there).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            not self.training
            or self.p == 0.0
            or x.device.type != "cpu"
            or self.inplace
            or torch.compiler.is_compiling()
            or not (x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last))
        ):
            return F.dropout(x, self.p, self.training, self.inplace)
        return x * keep_mask(x, self.p)


def keep_mask(x: torch.Tensor, p: float) -> torch.Tensor:
    """0 (dropped, probability ~p) or 1 / (1 - p) per element of ``x``, in x's dtype and strides."""
    levels = 1 << WORD_BITS
    drop_levels = round(p * levels)  # uniforms below this are dropped
    if drop_levels >= levels:
        return torch.zeros_like(x)
    n = x.numel()
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device)
    words.random_(-(2**63), None)  # the full 64-bit range: four independent 16-bit lanes
    uniforms = words.view(torch.int16)[:n]  # (n,) uniform on [-32768, 32767]
    if x.is_contiguous():
        uniforms = uniforms.view(x.shape)
    else:  # channels_last: the same storage order as x
        uniforms = uniforms.as_strided(x.shape, x.stride())
    keep = uniforms >= drop_levels - levels // 2
    return keep.to(x.dtype).mul_(levels / (levels - drop_levels))


def use_fast_dropout(module: nn.Module) -> int:
    """Replace every plain ``nn.Dropout`` inside ``module`` by a ``FastDropout``; return how many."""
    replaced = 0
    for parent in module.modules():
        for name, child in list(parent.named_children()):
            if type(child) is nn.Dropout:
                fast = FastDropout(child.p, child.inplace)
                fast.train(child.training)
                setattr(parent, name, fast)
                replaced += 1
    return replaced


class NetworkWrapper:
    """What a task's training forward passes go through: DDP and/or ``torch.compile``.

    ``wrap(module)`` is DDP (when ``ddp`` is given) then compile; ``wrap(module,
    sync_gradients=False)`` skips DDP (a forward whose parameters get no gradient, as the
    discriminator's in the generator step). The same call returns the same wrapper.
    """

    def __init__(
        self,
        *,
        ddp: Callable[[nn.Module], nn.Module] | None = None,
        compile_mode: str = "none",
        captured: bool = False,
    ) -> None:
        if compile_mode not in COMPILE_MODES:
            raise ConfigError(
                f"trainer.compile={compile_mode!r} is not a compile mode; "
                f"choose one of: {', '.join(COMPILE_MODES)}"
            )
        self.ddp, self.compile_mode, self.captured = ddp, compile_mode, captured
        self._made: dict[tuple[int, bool], nn.Module] = {}

    @property
    def distributed(self) -> bool:
        return self.ddp is not None

    def __call__(self, module: nn.Module, *, sync_gradients: bool = True) -> nn.Module:
        use_ddp = sync_gradients and self.ddp is not None
        key = (id(module), use_ddp)
        if key not in self._made:
            wrapped = self.ddp(module) if use_ddp else module
            if self.compile_mode != "none":
                # static shapes: one graph per batch shape, none with symbolic sizes
                mode = compile_mode_kwarg(self.compile_mode, captured=self.captured)
                wrapped = torch.compile(wrapped, mode=mode, dynamic=False)
            self._made[key] = wrapped
        return self._made[key]

    def function(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn``, a step's arithmetic outside the networks (losses, scores, an EMA update),
        compiled when ``trainer.compile`` is set; else ``fn`` itself.

        Eager, such code is dozens of tiny kernels on a few hundred numbers, each a launch (and
        a few microseconds even inside a CUDA graph); compiled, a function is a few fused
        kernels. Always torch's default mode: there is nothing to autotune, and the step
        decides about CUDA graphs (``capture_step``).
        """
        if self.compile_mode == "none":
            return fn
        return torch.compile(fn, dynamic=False)


def eval_batch_size(configured: int | None, device: torch.device) -> int:
    """``trainer.eval_batch_size``, else 256 images on the CPU and 1000 elsewhere.

    On the CPU each layer's output then stays in the core's cache and its memory is reused
    from epoch to epoch. Measured in training runs (Fashion-MNIST, 5000 validation images):
    at 1000, each validation took 3000-5800 page faults and 12-26 ms; at 256, none and
    11.3-11.6 ms. On CUDA, larger batches mean fewer kernel launches.
    """
    if configured:
        return configured
    return 256 if device.type == "cpu" else 1000


@contextlib.contextmanager
def evaluation_threads(device: torch.device) -> Iterator[None]:
    """On the CPU, run the block on every core this process may use, then restore the
    training's thread count: the autoencoder trains on one thread (its steps are too small
    to split), but validation batches (``eval_batch_size``) are not."""
    training_threads = torch.get_num_threads()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if device.type != "cpu" or not cores or cores <= training_threads:
        yield
        return
    torch.set_num_threads(cores)
    try:
        yield
    finally:
        torch.set_num_threads(training_threads)


def cpu_threads(cfg: Any) -> int | None:
    """Torch threads for a run: ``trainer.cpu_threads``, else the model's own default
    (``model.cpu_threads``: 1 for the autoencoder, whose tiny matmuls gain nothing from more),
    else None (torch's default, one per core)."""
    return cfg.trainer.cpu_threads or cfg.model.get("cpu_threads") or None


def compile_mode_kwarg(compile_mode: str, *, captured: bool = False) -> str | None:
    """``trainer.compile`` as ``torch.compile``'s ``mode`` (``default`` is None).

    ``captured``: the whole step is one CUDA graph already (``capture_step``), so
    ``max-autotune`` keeps its autotuned kernels without CUDA graphs of its own.
    """
    if captured and compile_mode == "max-autotune":
        return "max-autotune-no-cudagraphs"
    return None if compile_mode == "default" else compile_mode


def check_step_compile(task_class: type, *, distributed: bool) -> None:
    """Raise ``ConfigError`` when ``trainer.compile_scope=step`` cannot work for this task or run."""
    if task_class.step_compile_unsupported:
        raise ConfigError(
            f"trainer.compile_scope=step is not supported by {task_class.__name__}: "
            f"{task_class.step_compile_unsupported}; use trainer.compile_scope=network"
        )
    if distributed:
        raise ConfigError(
            "trainer.compile_scope=step does not run under torchrun (DDP's gradient hooks are "
            "not traced); use trainer.compile_scope=network"
        )
    if not hasattr(torch._dynamo.config, "trace_autograd_ops"):
        raise ConfigError(
            f"trainer.compile_scope=step needs a torch whose Dynamo traces backward() "
            f"(torch._dynamo.config.trace_autograd_ops); this is torch {torch.__version__}: "
            "use trainer.compile_scope=network"
        )


def compile_training_step(task: Any, compile_mode: str, *, distributed: bool = False) -> None:
    """Compile ``task.train_batch`` (normalisation, forward, loss, backward, optimizer).

    The gradients are cleared eagerly before the graph (``Task.zero_grads``), and the
    optimizer step runs between two graphs (the direct step, or torch's wrapper around its
    fused kernel); everything else is traced away.
    """
    check_step_compile(type(task), distributed=distributed)
    torch._dynamo.config.trace_autograd_ops = True  # read only by graphs that call backward()
    # static shapes: training batches all have one shape (drop_last)
    compiled = torch.compile(task.train_batch, mode=compile_mode_kwarg(compile_mode), dynamic=False)

    def compiled_train_batch(images_u8: torch.Tensor, amp: Any) -> dict[str, torch.Tensor]:
        task.zero_grads()  # inside, a no-op: it would split the graph
        return compiled(images_u8, amp)

    task.fast_train_batch = compiled_train_batch


def accelerate(
    task: Any,
    trainer_cfg: Any,
    device: torch.device,
    *,
    ddp: Callable[[nn.Module], nn.Module] | None = None,
) -> None:
    """Apply ``trainer.{cudnn_benchmark,channels_last,fast_dropout,direct_optimizer_step,
    pad_thin_convs,compile,compile_scope,capture_step}`` and DDP to ``task``.

    Call once, after ``build_task`` (and SyncBatchNorm) and before training or restoring.
    """
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = bool(trainer_cfg.cudnn_benchmark)
    if trainer_cfg.channels_last:
        task.memory_format = torch.channels_last
        for module in task.modules.values():
            module.to(memory_format=torch.channels_last)  # in place: optimizers keep their params
    if trainer_cfg.fast_dropout:
        for module in task.modules.values():
            use_fast_dropout(module)
    if trainer_cfg.direct_optimizer_step:
        for optimizer in task.optimizers.values():
            use_direct_step(optimizer)
    if trainer_cfg.pad_thin_convs and device.type == "cuda":
        for module in task.modules.values():
            pad_thin_convs(module, task.memory_format)  # set above by channels_last
    compile_mode, scope = trainer_cfg.compile, trainer_cfg.compile_scope  # validate_config checked
    captured = bool(trainer_cfg.capture_step)
    # torch.compile's own CUDA graphs (its "reduce-overhead" and "max-autotune" modes)
    task.cudagraphs = device.type == "cuda" and compile_mode_kwarg(
        compile_mode, captured=captured
    ) in ("reduce-overhead", "max-autotune")
    if compile_mode != "none" and scope == "step":
        compile_training_step(task, compile_mode, distributed=ddp is not None)
    elif ddp is not None or compile_mode != "none":
        task.wrap_networks(NetworkWrapper(ddp=ddp, compile_mode=compile_mode, captured=captured))
    if captured:
        from aegan.engine.capture import CapturedStep  # late: only CUDA runs need it

        if device.type != "cuda":
            raise ConfigError(
                f"trainer.capture_step=true needs CUDA and this run is on {device.type}; "
                "use trainer.device=cuda, or capture_step=false"
            )
        task.fast_train_batch = CapturedStep(task, task.fast_train_batch or task.train_batch)
