"""``trainer.direct_optimizer_step``: Adam's update without ``Optimizer.step``'s per-call Python.

``torch.optim.Adam.step`` wraps the update in step hooks, a profiler range, a grad-mode
switch, a graph-capture check and a lazy-state pass over every parameter: about 50 us per
call on this project's CPU, as much as the fused Adam kernel of the autoencoder's 105k
parameters. Once every parameter has its state (after the first step, or a resume), the
direct step calls torch's public functional ``torch.optim.adam.adam`` with the same tensors
and hyperparameters that ``Adam.step`` passes it: the same update, the same state, the same
checkpoints. What it skips: step hooks registered on the optimizer, and the
``lr_scheduler`` bookkeeping of "optimizer.step() was called" (no task uses either).

Fused groups go one step further: torch's ``_fused_adam`` regroups the tensors by device
and dtype and adds 1 to each step counter (one ``add_`` per parameter on the CPU: 17 us
for the autoencoder's 10) before its fused kernel. Here the counters are views of one
tensor (``state["step"]`` stays a 0-d float32 tensor per parameter), incremented by one
``add_``, and the kernel ``torch._fused_adam_`` / ``_fused_adamw_`` gets the lists as
``_fused_adam`` would pass them: 54 vs 86 us for the autoencoder's parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.optim.adam import adam

DIRECT_TYPES = (torch.optim.Adam, torch.optim.AdamW)


def use_direct_step(optimizer: torch.optim.Optimizer, *, compiled: bool = False) -> bool:
    """Give ``optimizer`` (Adam or AdamW) the direct step; return whether it got it.
    ``compiled``: a compiled step will call it, so Dynamo leaves it out of the graph (as it
    leaves torch's fused kernel); only then, as importing Dynamo takes seconds.

    Other optimizers, and differentiable Adam, keep torch's step. The first call (before
    the state exists), calls with a closure and capturable groups (``capture_step``
    captures the step once: its Python cost does not recur) go through torch's step.
    """
    if type(optimizer) not in DIRECT_TYPES or any(
        group["differentiable"] for group in optimizer.param_groups
    ):
        return False
    step = _direct_step(optimizer, torch_step=optimizer.step)
    optimizer.step = torch.compiler.disable(step) if compiled else step
    return True


def _step_counter(states: list[dict], cached: tuple | None) -> tuple[torch.Tensor, tuple]:
    """(counter (n,), its views): ``states[i]["step"]`` as 0-d views of one tensor, made
    again when a state holds another step tensor (the first call, ``load_state_dict``)."""
    steps = [s["step"] for s in states]
    if cached is not None and [id(view) for view in cached[1]] == [id(step) for step in steps]:
        return cached  # the same tensors (ids of live objects: the cache holds them)
    counter = torch.stack(steps)  # (n,) float32, on the steps' device
    views = tuple(counter.unbind())
    for state, view in zip(states, views, strict=True):
        state["step"] = view
    return counter, views


def _fusable(group: dict, params: list[torch.Tensor], grad_scale: Any, found_inf: Any) -> bool:
    """Whether ``group``'s fused update can skip ``_fused_adam``'s regrouping: one device
    and dtype, float hyperparameters, and no GradScaler (its skip also rewinds the steps)."""
    return (
        group["fused"]
        and grad_scale is None
        and found_inf is None
        and not torch.is_tensor(group["lr"])
        and not any(torch.is_tensor(b) for b in group["betas"])
        and len({(p.device, p.dtype) for p in params}) == 1
    )


def _direct_step(optimizer: Any, torch_step: Callable) -> Callable:
    counters: dict[int, tuple] = {}  # param group index -> _step_counter's result

    @torch.no_grad()
    def step(closure: Callable | None = None) -> Any:
        if closure is not None:
            return torch_step(closure)
        state = optimizer.state
        groups = []
        for group in optimizer.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            # the first step creates the state; a captured step (capturable) runs once
            if group["capturable"] or any(p not in state for p in params):
                return torch_step()
            groups.append((group, params))
        grad_scale = getattr(optimizer, "grad_scale", None)  # set by a GradScaler
        found_inf = getattr(optimizer, "found_inf", None)
        for index, (group, params) in enumerate(groups):
            states = [state[p] for p in params]
            fused = bool(params) and _fusable(group, params, grad_scale, found_inf)
            if fused:
                counters[index] = _step_counter(states, counters.get(index))
                counters[index][0].add_(1)  # what _fused_adam does per parameter
            beta1, beta2 = group["betas"]
            tensors = (
                params,
                [p.grad for p in params],
                [s["exp_avg"] for s in states],
                [s["exp_avg_sq"] for s in states],
                [s["max_exp_avg_sq"] for s in states] if group["amsgrad"] else [],
                [s["step"] for s in states],
            )
            hyper = dict(
                amsgrad=group["amsgrad"], beta1=beta1, beta2=beta2, lr=group["lr"],
                weight_decay=group["weight_decay"], eps=group["eps"], maximize=group["maximize"],
            )  # fmt: skip
            if fused:
                kernel = (
                    torch._fused_adamw_ if group["decoupled_weight_decay"] else torch._fused_adam_
                )
                kernel(*tensors, **hyper, grad_scale=None, found_inf=None)
            else:
                adam(
                    *tensors, **hyper, has_complex=any(p.is_complex() for p in params),
                    foreach=group["foreach"], capturable=False, differentiable=False,
                    fused=group["fused"], grad_scale=grad_scale, found_inf=found_inf,
                    decoupled_weight_decay=group["decoupled_weight_decay"],
                )  # fmt: skip
        return None

    return step
