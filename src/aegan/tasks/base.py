"""The contract between a task (what one step means) and the engine (everything else)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from aegan.data import ImageData, normalize
from aegan.engine.amp import Amp
from aegan.engine.speed import NetworkWrapper
from aegan.logger import TensorBoardLogger


class Task:
    """Base class: a task owns its networks, optimizers and the meaning of a step.

    The engine calls, in order: ``train_step`` per batch (then ``amp.update()``),
    ``validate`` and ``log_epoch`` per epoch, and ``evaluate`` / ``log_final`` once
    at the end. Subclasses set ``modules``, ``optimizers``, ``objective`` (a key of
    ``validate``'s result; lower is better) and ``pixel_range`` ("unit" | "symmetric").
    """

    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    objective: str
    pixel_range: str
    # set by ``engine.speed.accelerate``: the memory order of training batches, and whether
    # compiled networks replay CUDA graphs (each iteration then marks a new graph step)
    memory_format: torch.memory_format = torch.contiguous_format
    cudagraphs: bool = False
    # ``train_batch`` compiled whole (``trainer.compile_scope=step``) and/or captured in a
    # CUDA graph (``trainer.capture_step``), or None: eager
    fast_train_batch: Callable[[torch.Tensor, Amp], dict[str, torch.Tensor]] | None = None
    # why this task's whole step cannot be compiled (compile_scope=step), or None when it can
    step_compile_unsupported: str | None = "it does not declare a compilable step"

    def zero_grads(self) -> None:
        """Set every optimizer's gradients to None; a ``train_step`` starts with this.

        ``optimizer.zero_grad(set_to_none=True)``, minus its per-call wrapper (host time on
        every step). Skipped while ``torch.compile`` traces the step: there it would split
        the graph in two, so ``compile_training_step`` calls it eagerly before the graph.
        """
        if torch.compiler.is_compiling():
            return
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    param.grad = None

    def train_batch(self, images_u8: torch.Tensor, amp: Amp) -> dict[str, torch.Tensor]:
        """One training iteration from a uint8 batch (B, C, H, W): normalise, ``train_step``.

        This is what ``trainer.compile_scope=step`` compiles (the normalisation, forward,
        loss, backward and optimizer update).
        """
        images_u8 = images_u8.contiguous(memory_format=self.memory_format)
        return self.train_step(normalize(images_u8, self.pixel_range), amp)

    @classmethod
    def step_capture_unsupported(cls, model_cfg: Any) -> str | None:
        """Why ``trainer.capture_step`` cannot capture this task's step under ``model_cfg``
        (say, a branch taken on some steps only), or None when it can."""
        return None

    def after_replay(self) -> None:
        """Advance the Python-side state of one step replayed from a CUDA graph
        (``trainer.capture_step``): a replay repeats the step's device work only."""

    def train_step(self, x: torch.Tensor, amp: Amp) -> dict[str, torch.Tensor]:
        """One optimisation step on normalised images ``x`` (B, C, H, W); it starts with
        ``self.zero_grads()``.

        Returns detached 0-d tensors still on the device; the engine sums them and reads
        them every ``logger.log_every_steps`` steps (no host sync here). Detach them before
        ``backward``: a compiled step may not return a tensor whose graph it consumed.
        """
        raise NotImplementedError

    @torch.no_grad()
    def validate(self, batches: Iterable[torch.Tensor], amp: Amp) -> dict[str, float]:
        raise NotImplementedError

    def log_epoch(self, logger: TensorBoardLogger, step: int) -> None:
        """Image grids and other per-epoch pictures."""

    def evaluate(self, data: ImageData, amp: Amp) -> dict[str, float]:
        """Final metrics on the test split, as flat keys (``test/mse``...)."""
        return {}

    def log_final(self, logger: TensorBoardLogger, data: ImageData, step: int) -> None:
        """End-of-run artefacts such as projector embeddings."""

    def extra_state(self) -> dict[str, Any]:
        """Task state a checkpoint must carry beyond modules and optimizers."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def wrap_networks(self, wrap: NetworkWrapper) -> None:
        """Use ``wrap(module)`` (DistributedDataParallel, ``torch.compile``, or both) for the
        forward passes of training.

        ``self.modules`` keep the plain networks, so checkpoints hold plain state_dicts that
        load in one process, and validation and samples run on them.
        """
        raise NotImplementedError(f"{type(self).__name__} does not support wrapped networks")

    def train(self, mode: bool = True) -> None:
        for module in self.modules.values():
            module.train(mode)

    def eval(self) -> None:
        self.train(False)
