"""What the training loop needs of the run around it: the mixed precision, the logger, where
checkpoints go, the record saved in them, the batch size and processes, and a resume.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aegan.amp import Amp
from aegan.engine.interrupt import StopRequest


@dataclass
class RunContext:
    """What ``fit`` needs of the run around it."""

    amp: Amp  # autocast for validation, the scaler state in checkpoints
    logger: Any  # aegan.logger.TensorBoardLogger (disabled on ranks other than 0)
    checkpoint_dir: Path
    record: dict  # {"config": ..., "choices": ...}: plain values, saved in every checkpoint
    seed: int
    batch_size: int  # per process
    log_every_steps: int
    rank: int = 0
    world_size: int = 1
    stop: StopRequest = field(default_factory=StopRequest)
    resume: tuple[dict, Path] | None = None  # (checkpoint state, its path)
    # called once the resume's checkpoint is restored: only then is the run folder's record
    # this command's (a refused resume leaves the trained run's record as it was)
    on_restored: Callable[[], None] | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0
