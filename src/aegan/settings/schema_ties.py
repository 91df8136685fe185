"""Keys that ``conf/`` ties to another (``latent_dim: ${..latent_dim}``): the key each reads,
which must be there, and which a value set apart from it must equal (``aegan.settings.schema``)."""

from __future__ import annotations

import re
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from aegan.errors import ConfigError, refused_value

TIE = re.compile(r"\$\{(\.+)([A-Za-z_][\w.]*)\}")  # a relative interpolation: ${..latent_dim}
MISSING = object()


def tie_target(full: str, tie: re.Match) -> str:
    """The dotted key that ``full``'s tie (``${..latent_dim}``) reads."""
    parts = full.split(".")[:-1]
    up = len(tie.group(1)) - 1
    return ".".join(parts[: len(parts) - up] + [tie.group(2)])


def check_tie_target(cfg: DictConfig, full: str, tie: re.Match) -> None:
    """The key that ``conf/`` sets ``full`` from, deleted (``~model.latent_dim``): the
    task's constructor failed on "Interpolation key 'latent_dim' not found"."""
    target = tie_target(full, tie)
    if OmegaConf.select(cfg, target, default=MISSING, throw_on_resolution_failure=False) is MISSING:
        err = ConfigError(
            f"{target} is not set (deleted with ~{target}?); conf/ sets {full} from it: give "
            f"it a value ({target}=...) instead"
        )
        err.keys = (target, full)
        raise err


def check_tie(cfg: DictConfig, full: str, value: Any, tie: re.Match) -> None:
    """A key that ``conf/`` sets from another one (``${..latent_dim}``) set apart from it."""
    target = tie_target(full, tie)
    try:
        there = OmegaConf.select(cfg, target, default=MISSING)
        if isinstance(there, (DictConfig, ListConfig)):
            there = OmegaConf.to_container(there, resolve=True)
    except Exception:  # the key it is tied to does not resolve: named when the walk gets there
        return
    if there is not MISSING and (there != value or not _same_kind(value, there)):
        err = ConfigError(
            f"{full}={refused_value(value)} is not allowed: conf/ sets it from {target} "
            f"({refused_value(there)}); set {target} instead"
        )
        err.keys = (full, target)
        raise err


def _same_kind(value: Any, there: Any) -> bool:
    """Whether ``value`` is of the kind of ``there``, which it equals: Python takes 0 for
    false and 32.0 for 32, so a switch's tie set to 0 passed (an integer where a number
    belongs is of its kind)."""
    return type(value) is type(there) or (type(there) is float and type(value) is int)
