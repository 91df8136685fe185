"""Mixed precision in one object: autocast, the loss scaler (fp16 only), and what follows a
backward pass (the gradient average across processes under torchrun)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

import torch

from aegan.errors import ConfigError, refused_value
from aegan.io.readback import shown_read_value

PRECISIONS = ("auto", "bf16", "fp16", "fp32")


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto``: bf16 where the device computes it natively (a CUDA GPU from Ampere on; a CPU
    with AVX-512 or AMX, where oneDNN has bf16 kernels), else fp32: on a CPU with AVX2 only,
    bf16 is emulated, and the DCGAN trained 14x slower in it than in fp32. Others as given."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp32"
    if device.type == "cpu":
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
    return "bf16"  # meta: a config checked without a device


def emulated_bf16(precision: str, device: torch.device) -> str | None:
    """A warning where ``precision`` is bf16 on a CPU without native bf16 kernels, else None."""
    if precision != "bf16" or device.type != "cpu" or torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return None
    return (
        "trainer.precision=bf16: this CPU has no native bf16 (AVX-512 or AMX), so it is emulated "
        "and runs several times slower than fp32; trainer.precision=auto takes fp32 here"
    )


class Amp:
    """Autocast plus an optional GradScaler shared by every optimizer of a task.

    A task calls ``amp.backward(loss)`` and ``amp.step(optimizer)`` for each of its
    optimizers (``amp.unscale_(optimizer)`` first when it reads gradient norms); the
    engine calls ``amp.update()`` once per iteration, after all of them, as the PyTorch
    AMP notes prescribe for several optimizers.

    ``skip_nonfinite`` (``trainer.on_nonfinite=skip``): a unit scaler also skips optimizer
    steps whose gradients are not finite, in bf16 and fp32 too. ``after_backward`` runs
    after every backward pass (``engine.distributed.GradientAverager`` under torchrun).
    """

    def __init__(
        self,
        precision: str,
        device: torch.device,
        *,
        skip_nonfinite: bool = False,
        after_backward: Callable[[], None] | None = None,
    ) -> None:
        if precision not in PRECISIONS:
            raise ConfigError(
                f"trainer.precision={refused_value(precision)} is not allowed; choose one of: {', '.join(PRECISIONS)}"
            )
        precision = resolve_precision(precision, device)
        if precision == "fp16" and device.type not in ("cuda", "meta"):
            raise ConfigError(
                "trainer.precision=fp16 needs CUDA (the CPU has no fp16 autocast worth using); "
                "use trainer.precision=bf16 or fp32 on the CPU"
            )
        self.precision, self.device = precision, device
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[
            precision
        ]
        self.after_backward = after_backward
        self.scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
        if self.scaler is None and skip_nonfinite:
            # A scaler fixed at 1.0 (growth never reached, backoff rounds to 1.0 in fp32):
            # it only inspects gradients and skips the step of any optimizer whose
            # gradients are not finite, without a host sync for fused optimizers.
            self.scaler = torch.amp.GradScaler(
                device.type, init_scale=1.0, growth_interval=2**30, backoff_factor=1.0 - 1e-9
            )

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def backward(
        self, loss: torch.Tensor, inputs: list[torch.Tensor] | None = None, *,
        retain_graph: bool = False,
    ) -> None:  # fmt: skip
        """``loss.backward()``, scaled under fp16; ``inputs``: the only tensors whose
        gradients it accumulates (one loss per network group, as VAE-GAN's)."""
        scaled = self.scaler.scale(loss) if self.scaler else loss
        scaled.backward(inputs=inputs, retain_graph=retain_graph)
        if self.after_backward is not None:
            self.after_backward()

    def unscale_(self, optimizer: torch.optim.Optimizer) -> None:
        """Unscale gradients in place before reading their norms or clipping them."""
        if self.scaler:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler:
            self.scaler.step(optimizer)
        else:
            optimizer.step()

    def update(self) -> None:
        if self.scaler:
            self.scaler.update()

    def state_dict(self) -> dict:
        return self.scaler.state_dict() if self.scaler else {}

    def load_state_dict(self, state: dict) -> None:
        """A saved scaler's scale and its count of steps since the scale last grew; how it
        grows and backs off stays this run's, as an optimizer keeps its config's settings.
        Raises ValueError for either missing, a scale that is not a finite number > 0 (a NaN
        one skips every step, silently) or a count beyond the scaler's int32."""
        if not (self.scaler and state):
            return
        if missing := [key for key in ("scale", "_growth_tracker") if key not in state]:
            raise ValueError(f"it has no {' and no '.join(missing)} entry, which a scaler saves")
        scale, count = state["scale"], state["_growth_tracker"]
        if type(scale) not in (int, float) or not 0 < scale <= sys.float_info.max:
            raise ValueError(f"scale is {shown_read_value(scale)}, not a finite number > 0")
        if type(count) is not int or not 0 <= count < 2**31:
            raise ValueError(
                f"_growth_tracker is {shown_read_value(count)}, not a count below 2**31"
            )
        own = self.scaler.state_dict()
        # a count past this run's interval would never reach it: the growth is due now
        count = min(count, own["growth_interval"] - 1)
        self.scaler.load_state_dict({**own, "scale": float(scale), "_growth_tracker": count})
