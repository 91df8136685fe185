"""``trainer.compile``: ``torch.compile`` of each network, or of a task's whole step.

- ``compile_scope=network``: each network's forward is compiled in place
  (``nn.Module.compile``), so checkpoints hold the same state_dict keys as eager runs.
  Evaluation runs eager (``aegan.engine`` runs it under ``set_stance("force_eager")``):
  compiled for training, a network would compile again for eval mode and each batch shape.
- ``compile_scope=step``: the task's whole ``train_step`` (normalisation, forward, loss,
  backward, optimizer update), so that a tiny network pays the Python and dispatch cost of
  a few graph calls per step instead of one per op; Dynamo traces the backward
  (``trace_autograd_ops``) and the optimizer. Gradients are cleared before the graph, by
  the step around it (``aegan.speed.build_step``).

``reduce-overhead`` replays CUDA graphs on CUDA (torch's own), and so does ``max-autotune``
unless the step is captured whole already (``capture_step``: it is then torch's
``max-autotune-no-cudagraphs``). Batches have one static shape (``drop_last``,
``dynamic=False``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from aegan.errors import USER_ERRORS, ConfigError

COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune")
COMPILE_SCOPES = ("network", "step")


def compile_mode_kwarg(compile_mode: str, *, captured: bool = False) -> str | None:
    """``trainer.compile`` as ``torch.compile``'s ``mode`` (``default`` is None)."""
    if captured and compile_mode == "max-autotune":
        return "max-autotune-no-cudagraphs"
    return None if compile_mode == "default" else compile_mode


def uses_cudagraphs(compile_mode: str, device: torch.device, *, captured: bool) -> bool:
    """Whether torch.compile replays its own CUDA graphs: each iteration must then start
    with ``torch.compiler.cudagraph_mark_step_begin()``."""
    mode = compile_mode_kwarg(compile_mode, captured=captured)
    return device.type == "cuda" and mode in ("reduce-overhead", "max-autotune")


def check_step_compile() -> None:
    """Raise ``ConfigError`` when this torch cannot compile a step with its backward."""
    if not hasattr(torch._dynamo.config, "trace_autograd_ops"):
        raise ConfigError(
            f"trainer.compile_scope=step needs a torch whose Dynamo traces backward() "
            f"(torch._dynamo.config.trace_autograd_ops); this is torch {torch.__version__}: "
            "use trainer.compile_scope=network"
        )


def compile_networks(task: Any, compile_mode: str, *, captured: bool) -> None:
    """Compile every network of ``task`` in place, static shapes."""
    mode = compile_mode_kwarg(compile_mode, captured=captured)
    for network in task.networks.values():
        network.compile(mode=mode, dynamic=False)


def compile_train_step(task: Any, compile_mode: str) -> Callable[..., dict[str, torch.Tensor]]:
    """``task.train_step`` compiled whole, static shapes (training batches all have one)."""
    check_step_compile()
    torch._dynamo.config.trace_autograd_ops = True  # read only by graphs that call backward()
    return torch.compile(task.train_step, mode=compile_mode_kwarg(compile_mode), dynamic=False)


def said_on_first_call(
    step: Callable[[Any], dict[str, torch.Tensor]], task: Any, compile_mode: str, scope: str
) -> Callable[[Any], dict[str, torch.Tensor]]:
    """``step``, whose first call compiles: a failure there (a step Dynamo cannot trace
    whole, as one back-propagating through a graph twice; no C++ compiler) is one line
    naming the switch, not torch's traceback from inside the compiler."""
    compiled = False

    def first_call_said(batch: Any) -> dict[str, torch.Tensor]:
        nonlocal compiled
        if compiled:
            return step(batch)
        try:
            out = step(batch)
        except (*USER_ERRORS, torch.OutOfMemoryError):  # not the compiler's
            raise
        except Exception as err:  # noqa: BLE001 - torch's compiler raises any kind
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
            other = "trainer.compile_scope=network or " if scope == "step" else ""
            raise ConfigError(
                f"trainer.compile={compile_mode} trainer.compile_scope={scope} could not run "
                f"{task.name}'s first step ({type(err).__name__}: {reason}); use {other}"
                "trainer.compile=none"
            ) from err
        compiled = True
        return out

    return first_call_said
