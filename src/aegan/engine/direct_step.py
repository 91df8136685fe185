"""``trainer.direct_optimizer_step``: Adam's update without ``Optimizer.step``'s per-call Python.

``torch.optim.Adam.step`` wraps the update in step hooks, a profiler range, a grad-mode
switch, a graph-capture check and a lazy-state pass over every parameter: about 50 us per
call on this project's CPU, as much as the fused Adam kernel of the autoencoder's 105k
parameters. Once every parameter has its state (after the first step, or a resume), the
direct step calls torch's public functional ``torch.optim.adam.adam`` with the same tensors
and hyperparameters that ``Adam.step`` passes it: the same update, the same state, the same
checkpoints. What it skips: step hooks registered on the optimizer, and the
``lr_scheduler`` bookkeeping of "optimizer.step() was called" (no task uses either).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.optim.adam import adam

DIRECT_TYPES = (torch.optim.Adam, torch.optim.AdamW)


def use_direct_step(optimizer: torch.optim.Optimizer) -> bool:
    """Give ``optimizer`` (Adam or AdamW) the direct step; return whether it got it.

    Other optimizers, and differentiable Adam, keep torch's step. The first call (before
    the state exists), calls with a closure and capturable groups (``capture_step``
    captures the step once: its Python cost does not recur) go through torch's step.
    """
    if type(optimizer) not in DIRECT_TYPES or any(
        group["differentiable"] for group in optimizer.param_groups
    ):
        return False
    optimizer.step = _direct_step(optimizer, torch_step=optimizer.step)
    return True


def _direct_step(optimizer: Any, torch_step: Callable) -> Callable:
    @torch.compiler.disable  # a compiled step calls it as it calls torch's fused kernel
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
        for group, params in groups:
            states = [state[p] for p in params]
            beta1, beta2 = group["betas"]
            adam(
                params,
                [p.grad for p in params],
                [s["exp_avg"] for s in states],
                [s["exp_avg_sq"] for s in states],
                [s["max_exp_avg_sq"] for s in states] if group["amsgrad"] else [],
                [s["step"] for s in states],
                amsgrad=group["amsgrad"], has_complex=any(p.is_complex() for p in params),
                beta1=beta1, beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"],
                eps=group["eps"], maximize=group["maximize"], foreach=group["foreach"],
                capturable=False, differentiable=False, fused=group["fused"],
                grad_scale=getattr(optimizer, "grad_scale", None),  # set by a GradScaler
                found_inf=getattr(optimizer, "found_inf", None),
                decoupled_weight_decay=group["decoupled_weight_decay"],
            )  # fmt: skip
        return None

    return step
