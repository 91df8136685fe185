"""The checkpoint a run continues from (``trainer.resume``), checked before the data is read:
``auto`` finds the run folder's own ``last.pt`` and continues it only if it is this run (its
model, data and seed settings); a path continues that checkpoint, if it is of this model;
either only where ``trainer.epochs`` leaves epochs to train."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig

from aegan.engine.checkpoint import load_checkpoint, resolve_checkpoint
from aegan.engine.run_record import saved_choice
from aegan.engine.run_settings import optimizer_sections, resumable
from aegan.errors import CheckpointError, ConfigError, typed
from aegan.io.readback import shown_read_value
from aegan.logger import flatten_config

log = logging.getLogger("aegan.train")  # these lines belong to the training run's log

# What trainer.resume=auto requires to match, most telling first: what the run trains
SAME_RUN_PREFIXES = ("model.", "data.", "seed")
SAME_RUN_IGNORED = ("data.root", "data.download")


def check_same_run(
    state: dict, record: dict, checkpoint: Path, folder_key: str = "hydra.run.dir"
) -> None:
    """``trainer.resume=auto`` continues only the run it finds in the run dir: with another
    model, data or seed settings (a reused folder, another sweep's job) it stops, naming
    ``folder_key`` as the setting to change."""
    saved_choices = state.get("choices", {})
    for group in ("model", "data"):
        if saved_choices.get(group) != record["choices"][group]:
            raise ConfigError(
                f"trainer.resume=auto: {checkpoint} is a run {saved_choice(state, group)}, "
                f"not {group}={record['choices'][group]}; choose another {folder_key}"
            )
    before = flatten_config(state["config"], as_text=False)
    now = flatten_config(record["config"], as_text=False)
    keys = sorted(
        key for key in before.keys() | now.keys()
        if key.startswith(SAME_RUN_PREFIXES) and key not in SAME_RUN_IGNORED
        and before.get(key) != now.get(key)
    )  # fmt: skip
    if keys:
        shown = ", ".join(
            f"{k}={_as_typed(before, k)} there, {_as_typed(now, k)} here" for k in keys[:3]
        )
        # "continue it anyway" only where a resume may change each (no other sizes or loss)
        optimizers = optimizer_sections(state["config"]) | optimizer_sections(record["config"])
        anyway = f", or trainer.resume={checkpoint} to continue it anyway" * all(
            resumable(k, optimizers) for k in keys)  # fmt: skip
        raise ConfigError(
            f"trainer.resume=auto: {checkpoint} was trained with other settings ({shown}); "
            f"choose another {folder_key}{anyway}"
        )


def _as_typed(settings: dict, key: str) -> str:
    """A setting as typed on the command line (null, true, [1, 2]), or "unset" if none."""
    return typed(settings[key]) if key in settings else "unset"


def resume_state(
    cfg: DictConfig,
    run_dir: Path,
    record: dict,
    folder_key: str = "hydra.run.dir",
    found: Callable[[dict], None] | None = None,
) -> tuple[dict, Path] | None:
    """The checkpoint to continue from (``trainer.resume``), or None; ``folder_key``: the
    setting that chose ``run_dir``, named where ``auto`` finds another run there; ``found``
    is given the state ``auto`` finds before it is held to ``record``."""
    if cfg.trainer.resume == "auto":
        path = run_dir / "checkpoints" / "last.pt"
        if not path.is_file():
            log.info("trainer.resume=auto: no %s yet, starting from scratch", path)
            return None
        path = resolve_checkpoint(run_dir)  # or a newer step file a killed save wrote whole
        state = load_checkpoint(path)
        if found is not None:
            found(state)
        check_same_run(state, record, path, folder_key)
        check_epochs_left(cfg.trainer.epochs, state, path)
        return state, path
    if cfg.trainer.resume:
        path = resolve_checkpoint(cfg.trainer.resume)
        state = load_checkpoint(path)
        check_resumed_model(state, record["choices"]["model"], path)
        check_epochs_left(cfg.trainer.epochs, state, path)
        trained_seed = state["config"].get("seed")
        if trained_seed != cfg.seed:  # the random state is the checkpoint's, not seed's
            log.warning("seed=%s is not used: a resumed run goes on with the random state of "
                        "%s (trained with seed=%s)", cfg.seed, path,
                        shown_read_value(trained_seed))  # fmt: skip
        return state, path
    return None


def check_epochs_left(epochs: int, state: dict, path: Path) -> None:
    """``trainer.epochs`` of a resume is no fewer than ``path`` has done (at its count, a
    finished run is evaluated again): fewer trained nothing, said "epoch 2/1", and recorded
    the run as one of ``epochs``."""
    done, batch = state["epoch"], state["batch"]
    if epochs < done or (epochs == done and batch > 0):
        least = done + (batch > 0)
        raise ConfigError(
            f"trainer.epochs={epochs} is not allowed: {path} has done {done} epoch"
            f"{'s' * (done != 1)}{' and part of the next' * (batch > 0)}; continue it with "
            f"trainer.epochs={least} or more"
        )


def check_resumed_model(state: dict, model: str, path: Path) -> None:
    """A checkpoint given as ``trainer.resume`` is of ``model`` (the option's name)."""
    saved = state["choices"].get("model")
    if saved != model:  # before the data is read: its weights cannot fit this model
        named = isinstance(saved, str)
        raise CheckpointError(
            f"{path}: a checkpoint {saved_choice(state, 'model')}, "
            f"{'not' if named else 'so not known to be of'} model={model}; "
            f"{f'resume it with model={saved}, or ' if named else ''}start this run without "
            "trainer.resume"
        )
