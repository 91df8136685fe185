"""A checkpoint's networks and settings against the record of the run folder it lies in.

``check_in_its_run`` compares the names of the model and data; a run of the same model with
other sizes (``model.latent_dim=16``) or another loss (``model.beta=4``) has the same names,
so its checkpoint copied into another run's folder was loaded, evaluated and resumed as that
run's. Here the folder's record is rebuilt through ``conf/`` (``record_config``: it chooses
no code) and its networks built on the meta device, their weights' names and shapes compared
with the checkpoint's; then the settings a resume may not change (``engine.run_settings``)
with the checkpoint's own record of them. Those a resume may change (lr, epochs) may differ.
A record that builds no model is damaged, not another run's: said, and the checkpoint's own
record rebuilds the run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from aegan.data import image_shape_of
from aegan.engine.run_record import NOT_ITS_RUN, folder_record, warn_unchecked
from aegan.engine.run_settings import first_run_difference, resumed_changes, shown_setting
from aegan.errors import CheckpointError, ConfigError, ContractError
from aegan.runs.record import check_resumed_networks, record_config
from aegan.tasks import build_task

log = logging.getLogger(__name__)


def check_networks_in_its_run(path: Path, state: dict, *, searchpath: Sequence[str] = ()) -> None:
    """Refuse the checkpoint ``path`` (read as ``state``) where the record of the run folder
    it lies in builds networks of other weights' names or shapes, the first that differs
    named with its two shapes, or holds other run settings, the first named with its two
    values. A record that cannot be rebuilt here is said in the warning
    of a damaged record; ``searchpath``: the user's own config folders."""
    found = folder_record(path)
    if found is None:
        return
    record, config = found
    # the options the checkpoint composed: check_in_its_run has held them to the record's
    rebuilt = {"config": _as_recorded_in(config, state["config"]), "choices": state["choices"]}
    try:
        cfg = record_config(rebuilt, path=record, searchpath=list(searchpath), say_left_out=False)
        task = build_task(cfg.model, image_shape_of(cfg.data), torch.device("meta"))
    except (CheckpointError, ConfigError, ContractError) as err:
        warn_unchecked(record, f"{record}: its networks cannot be built here ({err})")
        return
    difference = _first_difference(task.networks, state["networks"])
    if difference is None and (setting := first_run_difference(state["config"], config)):
        key, saved, recorded = setting  # the same networks, trained under other settings
        difference = (
            f"of {key}={shown_setting(saved)}, in the folder of a run of "
            f"{key}={shown_setting(recorded)}"
        )
    if difference is not None:
        raise CheckpointError(
            f"{path}: a checkpoint {difference} ({record}); it is not this run's: {NOT_ITS_RUN}"
        )


def _as_recorded_in(record: dict, saved: dict) -> dict:
    """``record`` less the model settings the checkpoint's own record ``saved`` lacks: added
    to conf/ since it was saved, they are left to the task's default, as load_run rebuilds
    it and as ``trainer.resume=auto`` trains it, though the folder's record (the last
    command's, as Hydra composed it) names them; rebuilt with them, the run's own
    checkpoint was refused as another's."""

    def kept(node: Any, theirs: Any) -> Any:
        if not isinstance(node, dict) or not isinstance(theirs, dict):
            return node
        return {key: kept(value, theirs.get(key)) for key, value in node.items()
                if key in theirs or isinstance(value, dict)}  # fmt: skip

    model = saved.get("model")
    return {**record, "model": kept(record["model"], model)} if isinstance(model, dict) else record


def check_resumed_checkpoint(
    cfg: DictConfig, state: dict, path: Path, *, say_changes: bool = False
) -> None:
    """The checkpoint a resume continues, before any data is read: where it lies in a run's
    folder, of that run (``check_networks_in_its_run``: a file copied there is named as
    such first), then of the networks and run settings the command has
    (``check_resumed_networks``); in the job and in the check before its folder is made.
    ``say_changes``: log the settings the resume changes (``resumed_changes``), once."""
    searchpath = list(HydraConfig.get().searchpath) if HydraConfig.initialized() else []
    check_networks_in_its_run(path, state, searchpath=searchpath)
    check_resumed_networks(cfg, state, path)
    changes = resumed_changes(state, cfg) if say_changes else []
    if changes:
        log.warning("trainer.resume=%s continues the run at step %s with other settings than "
                    "it trained with: %s", path, state["step"], ", ".join(changes))  # fmt: skip


def _first_difference(networks: dict[str, torch.nn.Module], saved: dict) -> str | None:
    """How the checkpoint's weights ``saved`` first differ from those of ``networks``, the
    record's, in words after "a checkpoint"; None where names and shapes are all alike."""
    for name in sorted(set(networks) | set(saved)):
        if name not in saved:
            return f"without the network {name}, in the folder of a run whose record builds it"
        if name not in networks:
            return f"with a network {name}, in the folder of a run whose record builds none"
        wanted, weights = networks[name].state_dict(), saved[name]
        if not isinstance(weights, dict):  # loading it names what it is
            continue
        for key in [*wanted, *(k for k in weights if k not in wanted)]:
            where = f"{name}.{key}"
            if key not in weights:
                return f"without {where}, in the folder of a run whose record builds it"
            if key not in wanted:
                return f"with {where}, in the folder of a run whose record builds none"
            theirs, its_own = _shape(weights[key]), _shape(wanted[key])
            if theirs is not None and theirs != its_own:
                return (
                    f"with {where} of shape {theirs}, in the folder of a run whose record "
                    f"builds it {its_own}"
                )
    return None


def _shape(value: object) -> tuple[int, ...] | None:
    """A tensor's shape as a plain tuple, None for what is no tensor."""
    return tuple(value.shape) if torch.is_tensor(value) else None
