"""``trainer.fast_dropout``: CPU dropout masks drawn 4 to a 64-bit random word.

On the CPU, torch draws one ``bernoulli`` per element in a serial loop (slow on processors
where it skips MKL). Here each 64-bit draw of the same generator gives four 16-bit
uniforms: an element is kept when its uniform is >= ``p`` rounded to 1/65536, and kept
elements are scaled by 1 / (1 - that p), so the output's expectation is the input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

WORD_BITS = 16  # bits of randomness per dropout decision: p is exact to 1 / 65536


class FastDropout(nn.Dropout):
    """``nn.Dropout`` (same ``p``, same scaling, same state_dict) with cheaper CPU masks.

    The mask has the input's memory order (channels_last stays channels_last). On other
    devices and inside ``torch.compile`` it is ``F.dropout`` (fused kernels there).
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
