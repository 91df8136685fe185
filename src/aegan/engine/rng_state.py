"""The random number generators' state a checkpoint carries, and its restore on a resume,
each saved state checked against the generator's own before torch reads it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from aegan.errors import a_kind
from aegan.io.readback import shown_read_value

# what to do with a checkpoint whose state is none of these: its run's others hold their own
RNG_ADVICE = (
    "resume from another of the run's checkpoints (trainer.resume=RUN/checkpoints/step-*.pt)"
)


def rng_state() -> dict[str, Any]:
    """The CPU generator's state, and each CUDA device's where there are any."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """The CPU's generator and ``device``'s (a card's) seeded with ``seed``, and given back
    as they were after: a metric's or a classifier's draws repeat whatever the caller drew
    before, and the caller's streams go on as if nothing had drawn. No other card's is
    touched, where ``torch.manual_seed`` reseeds them all."""
    cards = []
    if device.type == "cuda":
        cards = [torch.cuda.current_device() if device.index is None else device.index]
    with torch.random.fork_rng(devices=cards):
        torch.random.default_generator.manual_seed(seed)
        for card in cards:
            torch.cuda.default_generators[card].manual_seed(seed)
        yield


class GeneratorStateError(ValueError):
    """A saved generator state that is not of this build's generators."""


def restore_rng(saved: dict[str, Any]) -> None:
    """The CPU generator's state, and each CUDA device's this machine has, each checked first
    against the state the generator keeps now, from the tensor's metadata alone: torch copies
    a CUDA state whole before reading it, and a few bytes of file can hold a stride-0 tensor
    of billions of elements."""
    if not isinstance(saved, dict) or "torch" not in saved:  # a key torch reads, in words
        what = "has no torch entry" if isinstance(saved, dict) else f"is {shown_read_value(saved)}"
        raise GeneratorStateError(
            f"rng {what}, not the generators' states (torch: the CPU generator's, cuda: a list)"
        )
    _check_generator_state(saved["torch"], torch.get_rng_state(), "rng.torch")
    cuda = saved.get("cuda") if torch.cuda.is_available() else None
    if cuda is None:
        torch.set_rng_state(saved["torch"])
        return
    if not isinstance(cuda, list):
        raise GeneratorStateError(f"rng.cuda is {a_kind(type(cuda).__name__)}, not a list")
    own = torch.cuda.get_rng_state_all()  # a run saved on more devices: those it has here
    for index, (value, like) in enumerate(zip(cuda, own, strict=False)):
        _check_generator_state(value, like, f"rng.cuda[{index}]")
    torch.set_rng_state(saved["torch"])
    for index, value in enumerate(cuda[: len(own)]):
        torch.cuda.set_rng_state(value, index)


def _check_generator_state(value: Any, like: torch.Tensor, where: str) -> None:
    if not (torch.is_tensor(value) and value.shape == like.shape and value.dtype == like.dtype):
        raise GeneratorStateError(
            f"{where} is {shown_read_value(value)}, not a {like.dtype} tensor of shape "
            f"{tuple(like.shape)}"
        )
