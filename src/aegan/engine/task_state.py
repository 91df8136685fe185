"""A task's own state in a checkpoint (``extra_state``: counters, fixed noise, the EMA's
updates): checked against what the task saves, then given to ``load_extra_state``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from aegan.contract import Task
from aegan.engine.checkpoint_contents import MAX_COUNT
from aegan.errors import CheckpointError, a_kind


def check_task_state(saved: Any, template: dict[str, Any], *, path: Path | str) -> None:
    """The task's saved state against what this task saves (``extra_state``): where both have
    a key, a tensor of the same shape and dtype (finite), a counter (an integer >= 0), or a
    value of the same type."""
    if not isinstance(saved, dict):
        raise CheckpointError(
            f"{path}: the task state is {a_kind(type(saved).__name__)}, not a mapping"
        )
    for key in saved.keys() & template.keys():
        value, like = saved[key], template[key]
        if torch.is_tensor(like):
            fits = (torch.is_tensor(value) and value.shape == like.shape
                    and value.dtype == like.dtype
                    and (not value.is_floating_point() or bool(value.isfinite().all())))  # fmt: skip
            wanted = f"a finite {like.dtype} tensor of shape {tuple(like.shape)}"
        elif type(like) is int:  # a counter, or (where the task starts it below 0) any int
            low = 0 if like >= 0 else -MAX_COUNT
            fits = type(value) is int and low <= value < MAX_COUNT
            wanted = (
                "a count (an integer >= 0)" if low == 0 else f"an integer within ±{MAX_COUNT:.3g}"
            )
        else:
            fits, wanted = type(value) is type(like), a_kind(type(like).__name__)
        if not fits:
            shown = (
                f"{value.dtype} {tuple(value.shape)}"
                if torch.is_tensor(value)
                else f"{value!r:.40}"
            )
            raise CheckpointError(f"{path}: the task state {key} is {shown}, not {wanted}")


def load_task_state(task: Task, saved: Any, *, path: Path | str) -> None:
    """``saved`` (a checkpoint's task state) checked against ``extra_state`` and given to
    ``load_extra_state``; whatever that raises is one line naming the file and the task."""
    check_task_state(saved, task.extra_state(), path=path)
    try:
        task.load_extra_state(saved)
    except Exception as err:  # the task's own code: any failure means the state is not its
        key = err.args[0] if isinstance(err, KeyError) and err.args else None
        if isinstance(key, str) and key not in saved:  # an entry it reads, not saved
            raise CheckpointError(
                f"{path}: the task state does not fit this model (it has no {key!r:.80} "
                f"entry, which {type(task).__name__}.load_extra_state reads)"
            ) from None
        raise CheckpointError(
            f"{path}: the task state does not fit this model "
            f"({type(task).__name__}.load_extra_state raised {type(err).__name__}: "
            f"{' '.join(str(err).split())[:160]})"
        ) from err
