"""Checks that walk every setting of a composed config, unresolved: none left ``???``, none
holding text that a run's record cannot hold, and none reading a key of Hydra's config
that is not there."""

from __future__ import annotations

import re
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from aegan.cli.hydra_errors import unset_message
from aegan.errors import ConfigError
from aegan.io.path_kinds import NOT_UTF8, encodable, shown
from aegan.settings.schema_kinds import settings


def check_setting_values(cfg: DictConfig) -> None:
    """Raise ``ConfigError`` naming the first ``???`` setting left unset (data.root of
    image_folder, evaluate's run), before anything reads it; then the first holding text
    UTF-8 cannot encode: a path of bytes that are not UTF-8, which Python reads as lone
    surrogates. The run's record (``.hydra/*.yaml``) holds text as UTF-8: written, it was
    not YAML, and the run's sweep listed it as broken."""
    leaves = list(settings(OmegaConf.to_container(cfg, resolve=False)))
    for key, value in leaves:
        if value == "???":
            raise ConfigError(unset_message(key))
    for key, value in leaves:
        if not encodable(key) or (isinstance(value, str) and not encodable(value)):
            raise ConfigError(f"{shown(key)}='{shown(value)}' is not allowed: {NOT_UTF8}")
    for key, value in leaves:
        check_hydra_keys(key, value)


def check_hydra_keys_in(node: DictConfig, prefix: str) -> None:
    """``check_hydra_keys`` for each setting of ``node`` (Hydra's own: ``prefix`` hydra.),
    whose folders and log file Hydra resolves as they are made: a folder ``None``. Not
    its record of the overrides typed: each is checked where it sets a value."""
    written = OmegaConf.to_container(node, resolve=False)
    written.pop("overrides", None)
    for key, value in settings(written, prefix):
        if key != f"{prefix}job.override_dirname":  # the overrides typed, too
            check_hydra_keys(key, value)


# ${hydra:KEY}, also inside another interpolation; a KEY built by one (${hydra:${x}}) is not read
HYDRA_KEY = re.compile(r"\$\{hydra:\s*([\w.\-]+)\s*\}")


def check_hydra_keys(key: str, value: object) -> None:
    """``ConfigError`` for ``value`` reading a key Hydra's config does not have: Hydra's
    resolver gives null for it, and ``seed=${hydra:job.nope}`` was refused as seed=null,
    ``trainer.epochs=${hydra:job.nope}`` trained with the default. A key Hydra has not
    set yet (``???``: the run's folder, before the job) is not refused, but for one a
    single run never has (``SWEEP_ONLY``)."""
    if not isinstance(value, str) or "${" not in value or not HydraConfig.initialized():
        return
    hydra_cfg = HydraConfig.get()
    for name in HYDRA_KEY.findall(value):
        node: Any = hydra_cfg
        for part in name.split("."):
            node = node._get_node(part, validate_access=False) if OmegaConf.is_dict(node) else None
            if node is None:
                raise ConfigError(
                    f"{key}={value!r} is not allowed: Hydra's config has no {name} "
                    f"(hydra.{name}); ${{hydra:KEY}} reads a key of it, such as "
                    "runtime.output_dir or job.name"
                )
        if name in SWEEP_ONLY and node._is_missing() and hydra_cfg.mode == RunMode.RUN:
            raise ConfigError(
                f"{key}={value!r} is not allowed: hydra.{name} is a sweep's (-m) job's; "
                "a single run has none"
            )


SWEEP_ONLY = ("job.num", "job.id")  # ??? in a single run: Hydra's resolver gives null
