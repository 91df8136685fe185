"""Checks that walk every setting of a composed config, unresolved: none left ``???``, and
none holding text that a run's record cannot hold."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from omegaconf import DictConfig, OmegaConf

from aegan.errors import ConfigError
from aegan.hydra_errors import unset_message
from aegan.path_kinds import NOT_UTF8, encodable, shown


def settings(container: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every leaf of an unresolved ``OmegaConf.to_container``."""
    if isinstance(container, dict):
        items = container.items()
    elif isinstance(container, list):
        items = enumerate(container)
    else:
        yield prefix.rstrip("."), container
        return
    for name, value in items:
        yield from settings(value, f"{prefix}{name}.")


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
