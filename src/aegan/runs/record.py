"""The trust boundary: a run's record back to a config.

``record_config`` rebuilds a run's config from its record (a checkpoint's ``config`` and
``choices``): the choices pick options of ``conf/`` by name, the stored values are taken
only where they are plain values of keys the composed config has; a ``_target_`` (or
``_args_``, ``_partial_``) never comes from a file. The record holds resolved values: its
text is taken as text (``${`` in a folder's name included), never as an interpolation or a
resolver. Keys ``conf/`` lacks (a user's own ``+notes=...``) are left out, said in one
line: nothing reads them back. Where this machine keeps data and runs (``paths``) and
whether it may download (``data.download``, false) are the reader's, never the record's.
A model setting added to ``conf/`` since the run trained is left to the task's default, so
that the run is rebuilt as it trained.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from aegan.cli.hydra_errors import hydra_error_line
from aegan.config import CONF_DIR, compose_config
from aegan.data import image_shape_of
from aegan.engine.run_record import saved_choice
from aegan.engine.run_settings import check_resumed_settings
from aegan.engine.state import check_weights
from aegan.errors import CheckpointError, ConfigError, shortened, typed
from aegan.settings.overrides import given_overrides, override_key
from aegan.settings.record_values import TIED, plain_values
from aegan.settings.schema import (
    CODE_KEYS,
    OPTION_NAME,
    hydra_choices,
    option_choices,
    reference,
)
from aegan.tasks import build_task

log = logging.getLogger("aegan.runs.record")
# Where this machine keeps data and runs, and whether it may download: the reader's own
# settings (conf/, the environment, the overrides); a record's would have a folder it names
# written into, or the network used, by a run merely read back.
READERS_OWN = ("paths.", "data.download")


def run_choices(cfg: DictConfig) -> dict[str, str]:
    """The options of ``model`` and ``data`` this run composed: Hydra's own record where
    there is one, else the ``name`` each of those sections carries."""
    choices = hydra_choices()
    return {g: str(choices.get(g) or cfg[g].get("name")) for g in ("model", "data")}


def record_config(
    record: dict,
    *,
    path: Path | str,
    overrides: list[str] = (),
    searchpath: list[str] = (),
    say_left_out: bool = True,
) -> DictConfig:
    """The config of a run from its record (``{"config": ..., "choices": ...}``), rebuilt
    through ``conf/``. ``overrides`` and ``searchpath`` are the user's: an override wins
    over the record and may name code, like one on the command line; ``data.download`` is
    false unless one of them sets it. ``say_left_out``: warn of the record's keys that
    ``conf/`` lacks (a second record of the same run need not say them again)."""
    choices, saved = record.get("choices"), record.get("config")
    if not isinstance(choices, dict) or not isinstance(saved, dict):
        raise CheckpointError(f"{path}: its config or choices are not a mapping")
    names = []
    for group in ("model", "data"):
        option = choices.get(group)
        if option is None:  # a format-1 file saved without model.task
            raise CheckpointError(
                f"{path}: a checkpoint {saved_choice(record, group)}: a run is rebuilt through "
                f"conf/ by its {group}'s name"
            )
        if not isinstance(option, str) or not OPTION_NAME.fullmatch(option):
            raise CheckpointError(f"{path}: {group} choice {option!r} is not a config option name")
        names.append(f"{group}={option}")
        name = (saved.get(group) or {}).get("name") if isinstance(saved.get(group), dict) else None
        if isinstance(name, str) and name != option:  # the model type first: nothing else fits
            raise CheckpointError(
                f"{path}: its choices say {group}={option} but its config is of {group}={name}"
            )
    try:
        cfg = compose_config(names, searchpath=list(searchpath))
    except Exception as err:  # a missing option: one line naming it
        missing = [name for name in names if not _composes(name, searchpath)] or names
        raise CheckpointError(
            f"{path}: its config options ({', '.join(missing)}) cannot be composed here "
            f"({str(err).splitlines()[0]}); add the folder holding them: "
            "hydra.searchpath=[file://DIR] on the command line, searchpath=[DIR] in load_run"
        ) from None
    if overrides:
        try:
            cfg = compose_config([*names, *overrides], searchpath=list(searchpath))
        except Exception as err:  # the user's own override: one line naming it
            line = hydra_error_line(err) or " ".join(str(err).split())
            raise ConfigError(f"overrides: {line}") from None
    user_keys = set(map(override_key, overrides))
    composed = OmegaConf.to_container(cfg, resolve=False)
    if isinstance(saved.get("model"), dict):  # a model setting added since the run trained
        _drop_unrecorded(cfg, saved["model"], user_keys)
    left_out: list[str] = []
    values = plain_values(saved, composed, prefix="", path=path, user=user_keys, left_out=left_out)
    if left_out and say_left_out:  # a user's own keys, or settings this version no longer has
        one = len(left_out) == 1
        log.warning(
            "%s: its record's %s %s not in conf/ here: left out, as nothing reads %s back",
            path, shortened(", ".join(left_out[:8])) + (", ..." if left_out[8:] else ""),
            "is" if one else "are", "it" if one else "them",
        )  # fmt: skip
    for key, value in values:
        if key.startswith(READERS_OWN):
            continue
        try:
            OmegaConf.update(cfg, key, value, merge=False, force_add=False)
        except Exception as err:  # a typed section refusing the value
            reason = str(err).splitlines()[0]
            raise CheckpointError(f"{path}: {key}={value!r} is not allowed ({reason})") from None
    if "data.download" not in user_keys and "download" in cfg.data:
        cfg.data.download = False  # read back, a run goes online only when the user asks
    return cfg


def check_resumed_networks(cfg: DictConfig, state: dict, path: Path | str) -> None:
    """Before any data is read: the checkpoint ``trainer.resume`` names holds the networks
    this command builds. Where it does not because the command has model settings the run's
    record lacks (added since it trained), the line names each with the task's default, the
    value that builds the model it trained. Then every network's names, shapes and dtypes
    against the checkpoint's, on the meta device: refused there, a resume has changed nothing
    in the run folder. Last, the settings a resume may not change (``model.beta``), which
    leave the networks as they are."""
    task = build_task(cfg.model, image_shape_of(cfg.data), torch.device("meta"))
    _check_added_settings(cfg, task, state, path)
    check_weights(task, state, path=path)
    conf = reference(CONF_DIR, option_choices(cfg, CONF_DIR))  # what conf/ holds for them
    check_resumed_settings(state, cfg, f"trainer.resume={path}", conf)


def _check_added_settings(cfg: DictConfig, task: Any, state: dict, path: Path | str) -> None:
    wanted, saved = sorted(task.networks), sorted(state["networks"])
    recorded = state["config"].get("model")
    if wanted == saved or not isinstance(recorded, dict):
        return
    composed = OmegaConf.to_container(cfg.model, resolve=False)
    parameters = inspect.signature(type(task)).parameters
    added = {  # the task's own arguments: a network's setting has no default to name here
        f"model.{key}": parameters[key].default
        for key in _unrecorded(recorded, composed, "", _tie_targets(composed))
        if key in parameters and parameters[key].default is not inspect.Parameter.empty
    }
    if added:
        settings = " ".join(f"{key}={typed(default)}" for key, default in added.items())
        raise CheckpointError(
            f"{path}: it holds networks {', '.join(saved)}; this command builds "
            f"{', '.join(wanted)}: the run's record has no {', '.join(added)}, added since it "
            f"trained; resume with {settings} to build the model it trained"
        )


def leave_added_settings(cfg: DictConfig, state: dict) -> list[str]:
    """``trainer.resume=auto`` finds a run whose record lacks model settings ``conf/`` has
    now (added since it trained) that the command line does not set: each is taken out of
    ``cfg`` for the task's default, the model it trained, as in ``record_config``; returns them."""
    recorded = state["config"].get("model")
    if not isinstance(recorded, dict):
        return []
    given = given_overrides(HydraConfig.get()) if HydraConfig.initialized() else []
    return _drop_unrecorded(cfg, recorded, set(map(override_key, given)))


def _drop_unrecorded(cfg: DictConfig, recorded: dict, user_keys: set[str]) -> list[str]:
    """Take out of ``cfg`` the model settings the record ``recorded`` lacks, but those the
    user set (``user_keys``) and the sizes conf/ ties to others; returns their keys."""
    composed = OmegaConf.to_container(cfg.model, resolve=False)
    kept = user_keys | {f"model.{key}" for key in _tie_targets(composed)}
    added = _unrecorded(recorded, composed, "model.", kept)
    with open_dict(cfg):
        for key in added:
            parent, _, name = key.rpartition(".")
            OmegaConf.select(cfg, parent).pop(name)
    return added


def _unrecorded(saved: dict, composed: dict, prefix: str, user: set[str]) -> list[str]:
    """Dotted keys of model settings that ``conf/`` has and the record does not: settings
    added since the run trained. Left out, the task and its networks take their own defaults,
    which keep what the code did then (``model.ema_decay`` of VAE-GAN: no average), where
    ``conf/``'s value would build another model than the checkpoint holds."""
    out = []
    for key, current in composed.items():
        full = f"{prefix}{key}"
        if full in user or key in CODE_KEYS:
            continue
        if key not in saved:
            if not isinstance(current, dict):  # a whole sub-config stays: it names code
                out.append(full)
        elif isinstance(current, dict) and isinstance(saved[key], dict):
            out += _unrecorded(saved[key], current, f"{full}.", user)
    return out


def _tie_targets(node: Any) -> set[str]:
    """The keys that values below ``node`` take their value from (``${..latent_dim}``:
    latent_dim): sizes a model always had, kept whatever a record holds."""
    if isinstance(node, dict):
        return set().union(*map(_tie_targets, node.values()))
    if isinstance(node, str) and TIED.fullmatch(node):
        return {node[2:-1].lstrip(".")}
    return set()


def _composes(option: str, searchpath: Sequence[str]) -> bool:
    """Whether the config option ``option`` (``model=vae``) composes on its own."""
    try:
        compose_config([option], searchpath=list(searchpath))
    except Exception:  # any refusal: it is one of those to name
        return False
    return True
