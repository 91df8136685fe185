"""The settings of a run that ``aegan.bench`` does not take: those it has no use for (it
times steps of fresh weights), and, on the command line, those its lists of values to time
set for each configuration. Either was accepted and the rows timed as without it."""

from __future__ import annotations

from typing import Any

from aegan.bench_lists import TIMED_BY_LIST
from aegan.errors import ConfigError
from aegan.settings.overrides import override_key

# a run's settings that bench has no use for (it times steps of fresh weights): -> why
IGNORED = {
    "trainer.resume": "starts from fresh weights", "trainer.epochs": "times steps=N",
    "trainer.checkpoint_every_steps": "writes no checkpoint",
    "trainer.keep_checkpoints": "writes no checkpoint",
    "trainer.eval_batch_size": "evaluates nothing", "evaluate": "evaluates nothing",
    "logger": "logs nothing to TensorBoard",
}  # fmt: skip


def check_not_ignored(overrides: Any, where: str) -> None:
    """``ConfigError`` for an override of a setting bench ignores (``IGNORED``): it was
    accepted, the row timed as without it. ``where``: the setting they came from, or ''."""
    for override in overrides:
        key = override_key(override)
        for ignored, why in IGNORED.items():
            if key == ignored or key.startswith(f"{ignored}."):
                given = f"{where}: {override!r}" if where else str(override)
                raise ConfigError(
                    f"{given} is not allowed: aegan.bench ignores {ignored} (it {why})"
                )


def check_not_replaced(overrides: Any, threads: Any) -> None:
    """``ConfigError`` for a command line's override of a setting that a list sets; of
    ``trainer.cpu_threads`` too where ``threads`` has no null (which takes it)."""
    for override in overrides:
        key, value = override_key(override), str(override).partition("=")[2]
        listed = TIMED_BY_LIST.get(key)
        if key == "trainer.cpu_threads" and isinstance(threads, list) and None not in threads:
            listed = "threads"  # 'threads=[2]' trainer.cpu_threads=1: timed on 2 threads
        if listed is not None:
            raise ConfigError(
                f"{override} is not allowed: aegan.bench times each value of {listed}, which "
                f"sets it in every configuration; use {listed}=[{value}]"
            )
