"""The engine: what is the same for every task (device, loop, checkpoints, resume, torchrun)."""

from aegan.engine.checkpoint import load_checkpoint, resolve_checkpoint, save_checkpoint
from aegan.engine.context import RunContext
from aegan.engine.device import evaluation_threads, resolve_device, seed_everything
from aegan.engine.loop import fit
from aegan.engine.resume import resume_state
from aegan.engine.state import Progress, restore

__all__ = [
    "Progress",
    "RunContext",
    "evaluation_threads",
    "fit",
    "load_checkpoint",
    "resolve_checkpoint",
    "resolve_device",
    "resume_state",
    "restore",
    "save_checkpoint",
    "seed_everything",
]
