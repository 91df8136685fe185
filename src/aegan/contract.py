"""The task contract: what one kind of model means to the engine, the metrics and a notebook.

A task is built by Hydra from ``conf/model/<name>.yaml``, whose ``_target_`` names the task
class (``build_task`` leaves the sub-configs to it): its constructor takes ``image_shape``
(C, H, W), ``device`` and the model section's settings (``name``, the option's name, among
them), and builds its own networks (from their sub-configs,
``aegan.tasks.build.build_network``) and optimizers (configs completed with the parameters:
``build_optimizer``).

The engine reads ``networks``, ``optimizers`` and ``objective``, calls ``train_step`` per
batch, ``validate`` and ``log_epoch`` per epoch, and saves ``extra_state`` with the weights.
The metric registry (``aegan.metrics.registry``) computes ``metrics`` through what the task
can do; a notebook calls the same:

- ``encode(x) -> codes`` and ``decode(codes) -> images``, ``reconstruct(x) -> images``;
- ``sample(n, generator) -> images`` and ``generate(z) -> images`` (``latent_dim`` wide z);

images are floats in [0, 1], (B, C, H, W), on the task's device. A task defines those
methods that its model has, and no others: ``can(task, "sample")`` asks. ``CALLS`` gives the
arguments each method is called with, checked as the task is built. A model with a
prior on its codes derives ``sample`` (and ``generate``, ``reconstruct`` from ``encode`` and
``decode``) by mixing in ``aegan.tasks.latents``' classes.

Speed code works from the outside (``aegan.speed``); what a task cannot take is data in
``limits``: a trainer switch (``"capture_step"``, ``"compile_scope=step"``, ``"torchrun"``)
mapped to the reason.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn

from aegan.amp import Amp
from aegan.errors import ContractError, a_kind

CAPABILITIES = ("encode", "decode", "reconstruct", "sample", "generate")
# what the engine, the metrics (the registry's ``needs``), ``aegan.bench`` and a notebook
# pass to each method a task may define, by position: a task's own must take these
CALLS = {
    "train_step": ("batch", "amp"), "validate": ("batches", "amp"),
    "log_epoch": ("logger", "data", "step"), "check_data": ("data",),
    "extra_state": (), "load_extra_state": ("state",), "tutorial_step": ("next_batch",),
    "encode": ("x",), "decode": ("codes",), "reconstruct": ("x",),
    "sample": ("n", "generator"), "generate": ("z",),
    "posterior_codes": ("x", "generator"), "sample_prior": ("n", "generator"),
    "elbo_terms": ("x",), "log_importance_weights": ("x", "k"),
    "generate_with_code": ("category", "n", "generator"),
}  # fmt: skip
VALIDATION_PREFIX = "val/"  # of validate's names: metrics.json keeps training's figures by it
BEST_OBJECTIVE = "val/best_objective"  # the engine's figure of validate's: the best objective
STEP_PREFIX = "train/"  # of train_step's names: apart from validate's and the loop's (lr/, perf/)
# what a task's ``limits`` may name: the trainer switches ``aegan.speed`` turns on, and torchrun
LIMITABLE = (
    "capture_step", "compile", "compile_scope=network", "compile_scope=step", "channels_last",
    "torchrun",
)  # fmt: skip


class Task:
    """Base class of the tasks in ``aegan.tasks``: subclasses set the attributes below and
    implement ``train_step`` and ``validate``."""

    name: str  # the config option (conf/model/<name>.yaml)
    networks: dict[str, nn.Module]  # checkpoints hold their state_dicts, by name
    optimizers: dict[str, torch.optim.Optimizer]
    objective: str  # a key of validate's result: lower is better (best.pt, sweeps)
    metrics: tuple[str, ...] = ()  # names in aegan.metrics.registry, computed at the end
    limits: Mapping[str, str] = {}  # trainer switch -> why this task cannot take it
    uses_labels: bool = False  # True: train_step gets (images, labels), labels int64 (B,)
    inert: Mapping[str, str] = {}  # a setting with no effect under the others -> why

    def train_step(self, batch: Any, amp: Amp) -> dict[str, torch.Tensor]:
        """One optimisation step on a uint8 batch (B, C, H, W) (with ``uses_labels``: the
        pair (images, labels)); 0-d device tensors out.

        No host sync: the engine sums the scalars and reads them every
        ``logger.log_every_steps`` steps. Detach them before ``backward``.
        """
        raise NotImplementedError

    def validate(self, batches: Iterable[torch.Tensor], amp: Amp) -> dict[str, float]:
        """Validation figures over uint8 batches, including the ``objective`` key."""
        raise NotImplementedError

    def check_data(self, data: Any) -> None:
        """Raise ``ConfigError`` for a setting that this data cannot serve (what only the
        data tells, such as its class count): called with its sizes before it is read
        (``aegan.data.DataSizes``: ``classes`` a count, None where unknown), and once it is."""

    def log_epoch(self, logger: Any, data: Any, step: int) -> None:
        """The pictures a researcher checks after each epoch (``aegan.logger``)."""

    def extra_state(self) -> dict[str, Any]:
        """Task state a checkpoint carries beyond networks and optimizers (plain values)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what ``extra_state`` returned."""

    def train(self, mode: bool = True) -> None:
        """Every trained network to training (or eval) mode. A frozen one (no parameter
        takes gradients: an EMA copy) stays in eval mode, as it is only ever evaluated."""
        for network in self.networks.values():
            trained = any(p.requires_grad for p in network.parameters())
            network.train(mode and trained)


def is_printable_name(name: object) -> bool:
    """Whether ``name`` can name a member, a scalar or a figure: a non-empty string without
    a line break or another control character, as the log lines and messages that show it
    are one line each."""
    return isinstance(name, str) and bool(name) and name.isprintable()


def can(task: Task, capability: str) -> bool:
    """Whether ``task`` has ``capability`` (one of ``CAPABILITIES``)."""
    return callable(getattr(task, capability, None))


def call_of(member: str) -> str:
    """How ``member`` is called (``CALLS``): ``log_epoch(logger, data, step)``."""
    return f"{member}({', '.join(CALLS[member])})"


def call_problem(task: Task, member: str) -> str | None:
    """Why ``task``'s ``member`` (one of ``CALLS``) cannot be called as the engine, the
    metrics and a notebook call it, or None (also where it has none): else a TypeError in
    Python's words an epoch in (``log_epoch(logger, step)``) or after training."""
    method = getattr(task, member, None)
    if not callable(method):
        return None
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):  # a builtin without one: called as it is
        return None
    try:
        signature.bind(*CALLS[member])
    except TypeError as err:
        written = signature.replace(return_annotation=inspect.Signature.empty)
        return f"its {member}{written} cannot be called as {call_of(member)} ({err})"
    return None


PLAIN = (type(None), bool, int, float, str, torch.Tensor)  # what a weights-only load reads
MAX_STATE_DEPTH = 8


def extra_state_problem(state: Any) -> str | None:
    """What in ``extra_state()``'s ``state`` a checkpoint could not carry, or None: it must
    be a dict by string names of plain values (``PLAIN``, in lists, tuples and dicts).
    Anything else (a function, an object) is pickled as code that a weights-only load
    refuses: a checkpoint written, and then never loadable."""
    if not isinstance(state, dict):
        return f"{type(state).__name__}, not a dict of plain values by name"
    stack = [(state, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_STATE_DEPTH:
            return f"{where} nested deeper than {MAX_STATE_DEPTH} levels"
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    return f"the name {key!r:.40} in {where or 'it'}, not a string"
                stack.append((item, f"{where}[{key!r:.40}]", depth + 1))
        elif isinstance(value, (list, tuple)):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
        elif not isinstance(value, PLAIN):
            return (
                f"{where} of type {type(value).__name__}: a checkpoint carries plain values "
                "(numbers, strings, tensors, in lists and dicts), loaded weights-only"
            )
        elif type(value) is int and not -(2**62) <= value < 2**62:  # a resume reads it back
            return f"{where} = {value:.3g}, an integer past what a checkpoint's counts hold (2**62)"
    return None


RANGE_SLACK = 1e-4  # of [0, 1]: rounding in a decoder's last op, not a wrong scale


def images_problem(images: Any, count: int, image_shape: tuple[int, ...]) -> str | None:
    """What is wrong with ``images`` that a task returns for ``count`` images of
    ``image_shape`` (C, H, W), or None: they must be a float tensor (count, C, H, W) in
    [0, 1]. Else the metrics read a scale, a count or a layout that is not the data's,
    and write figures of it, or fail in torch's words."""
    if not isinstance(images, torch.Tensor):
        return f"{a_kind(type(images).__name__)}, not a tensor"
    if not images.is_floating_point():
        return f"a {images.dtype} tensor, not floats"
    if tuple(images.shape) != (count, *image_shape):
        return f"shape {tuple(images.shape)}, not {(count, *image_shape)}"
    if images.numel():  # NaN passes here: ``finite`` names it
        low, high = (value.item() for value in images.aminmax())
        if low < -RANGE_SLACK or high > 1 + RANGE_SLACK:
            return f"values from {low:.4g} to {high:.4g}, not in [0, 1]"
    return None


def checked_images(task: Task, member: str, images: Any, count: int, shape: Any) -> torch.Tensor:
    """``images`` that ``task``'s ``member`` returned for ``count`` images of ``shape``
    (C, H, W), or ``ContractError`` naming the task, the member and what it must return."""
    problem = images_problem(images, count, tuple(shape))
    if problem:
        raise ContractError(
            f"{type(task).__name__}.{member} returned {problem}; it must return float images "
            "(B, C, H, W) in [0, 1]"
        )
    return images


def codes_problem(codes: Any, count: int) -> str | None:
    """What is wrong with the codes a task returns for ``count`` images, or None: they must
    be a real tensor (count, D), one row of D numbers per image. Else a probe, PCA at the
    code size or the projector failed in torch's or TensorBoard's words (a tuple, a flat
    vector, a column per image)."""
    if not isinstance(codes, torch.Tensor):
        return f"{a_kind(type(codes).__name__)}, not a tensor"
    if codes.dim() != 2 or len(codes) != count or not codes.shape[1]:
        return f"a tensor of shape {tuple(codes.shape)}, not ({count}, D)"
    if codes.is_complex() or codes.dtype == torch.bool:
        return f"a {codes.dtype} tensor, not real numbers"
    return None


def checked_codes(task: Task, member: str, codes: Any, count: int) -> torch.Tensor:
    """``codes`` that ``task``'s ``member`` returned for ``count`` images, or
    ``ContractError`` naming the task, the member and what it must return."""
    problem = codes_problem(codes, count)
    if problem:
        raise ContractError(
            f"{type(task).__name__}.{member} returned {problem}; it must return codes (B, D), "
            "one row of numbers per image"
        )
    return codes
