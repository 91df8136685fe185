"""What a run folder's own record says of the files in it, checked when they are read back.

The record (``RUN_DIR/.hydra/config.yaml``) is read strictly and only compared with: what
runs is always built from ``conf/`` and the command line (``aegan.record``)."""

from __future__ import annotations

from pathlib import Path

from aegan.errors import CheckpointError
from aegan.readback import read_plain_yaml

MAX_RECORD_DEPTH = 32  # a composed config nests under 10


def check_in_its_run(path: Path, state: dict) -> None:
    """A checkpoint in a run's ``checkpoints/`` folder (or a branch's ``past-step-N/`` in it)
    is of the model that run's record (``.hydra/config.yaml``) names: another model's file
    copied there would be evaluated, loaded or resumed as that run. The record is only
    compared with, never built from; a folder without a readable one is not checked."""
    folder = next((p for p in (path.parent, path.parent.parent) if p.name == "checkpoints"), None)
    if folder is None:
        return
    record = folder.parent / ".hydra" / "config.yaml"
    try:
        config = read_plain_yaml(record, max_depth=MAX_RECORD_DEPTH) if record.is_file() else None
    except (OSError, ValueError):  # damaged: the checkpoint's own record rebuilds the run
        return
    model = config.get("model") if isinstance(config, dict) else None
    name = model.get("name") if isinstance(model, dict) else None
    saved = state["choices"].get("model")
    if isinstance(name, str) and isinstance(saved, str) and name != saved:
        raise CheckpointError(
            f"{path}: a checkpoint of model={saved}, in the folder of a run of model={name} "
            f"({record}); it is not this run's: move it away, or name the run it came from"
        )
