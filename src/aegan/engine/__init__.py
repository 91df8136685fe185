"""The engine: what is the same for every task (device, precision, loop, checkpoints)."""

from aegan.engine.amp import Amp, ConfigError, resolve_device, seed_everything
from aegan.engine.checkpoint import (
    CheckpointError,
    load_checkpoint,
    resolve_checkpoint,
    save_checkpoint,
)
from aegan.engine.loop import NonFiniteError, Progress, fit, restore

__all__ = [
    "Amp",
    "CheckpointError",
    "ConfigError",
    "NonFiniteError",
    "Progress",
    "fit",
    "load_checkpoint",
    "resolve_checkpoint",
    "resolve_device",
    "restore",
    "save_checkpoint",
    "seed_everything",
]
