"""The Bernoulli negative log-likelihood of pixels in [0, 1] given logits, fast on the CPU.

Per pixel it is ``F.binary_cross_entropy_with_logits``: max(l, 0) - l * x + log(1 + exp(-|l|)).
Torch's CPU ``log1p``, and with it softplus and its BCE, is not vectorised, and it was a
quarter of a dense VAE's step (docs/comparison-pythae.md); ``log`` and ``sigmoid`` are, so
the last term is taken as -log(sigmoid(|l|)). Where sigmoid(|l|) rounds to 1 (|l| > 16.6
in float32) a term below 6e-8 is dropped, within float32's rounding of the sum anyway.
"""

from __future__ import annotations

import torch


class _BernoulliNLL(torch.autograd.Function):
    """Forward: the summed NLL per image; backward: (sigmoid(l) - x) scaled by the image's
    gradient. No intermediate is kept: the backward recomputes one sigmoid."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(logits, x)
        nll = logits.clamp(min=0) - logits * x - torch.sigmoid(logits.abs()).log()
        return nll.flatten(1).sum(1)  # (B,)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        logits, x = ctx.saved_tensors
        grad = grad.view(-1, *([1] * (logits.dim() - 1)))  # (B, 1, ...)
        grad_logits = (torch.sigmoid(logits) - x) * grad if ctx.needs_input_grad[0] else None
        grad_x = -logits * grad if ctx.needs_input_grad[1] else None
        return grad_logits, grad_x


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | logits) per image (B,), summed over every other dimension, in the
    logits' dtype; ``x`` in [0, 1] (grey levels or binary), the shape of ``logits``."""
    return _BernoulliNLL.apply(logits, x)
