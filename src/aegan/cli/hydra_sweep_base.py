"""The config Hydra composes once for a sweep (``-m``), before its jobs, composed with each
job's settings in reach.

Hydra composes that config without the sweep's group values, so with each swept group's
default option, then applies the other overrides to it. A setting of the swept options that
the default lacks (``-m model=vae,conv_vae model.beta=4``: the autoencoder has no beta)
failed there, and with it a sweep whose every job has the setting: "model.beta is not a
setting" listed the autoencoder's. That config is not any job's (each job composes its own
with the same overrides, checked before the first starts: ``aegan.sweep_checks``), so such a
setting is added to it as ``++`` would add it; the overrides recorded stay as typed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, HydraException
from hydra.types import RunMode
from omegaconf import OmegaConf

_SWEPT: list[tuple[str, ...]] = []  # the sweep's groups, while its own config is composed


def swept_keys(overrides: list[str]) -> tuple[str, ...]:
    """The keys of ``overrides`` that sweep (``model=vae,conv_vae``: ``model``), dotted."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides=overrides)
    except HydraException:  # Hydra says what it cannot parse, as it composes
        return ()
    return tuple(o.key_or_group.replace("/", ".") for o in parsed if o.is_sweep_override())


@contextmanager
def _sweep_composed(overrides: list[str]) -> Iterator[None]:
    _SWEPT.append(swept_keys(overrides))
    try:
        yield
    finally:
        _SWEPT.pop()


def _in_swept_group(key: str) -> bool:
    return bool(_SWEPT) and any(key.startswith(f"{group}.") for group in _SWEPT[-1])


def _with_sweep(load: Any) -> Any:
    @functools.wraps(load)
    def load_configuration(
        self: ConfigLoaderImpl, config_name: str | None, overrides: list[str],
        run_mode: RunMode, *args: Any, **kwargs: Any,
    ) -> Any:  # fmt: skip
        if run_mode != RunMode.MULTIRUN:
            return load(self, config_name, overrides, run_mode, *args, **kwargs)
        with _sweep_composed(list(overrides)):
            return load(self, config_name, overrides, run_mode, *args, **kwargs)

    load_configuration.knows_sweep = True
    return load_configuration


def _lenient(apply: Any) -> Any:
    @functools.wraps(apply)
    def apply_overrides_to_config(overrides: list[Any], cfg: Any) -> None:
        if not _SWEPT or not _SWEPT[-1]:
            return apply(overrides, cfg)
        for override in overrides:  # in order, as Hydra applies them
            try:
                apply([override], cfg)
            except ConfigCompositionException:
                plain = not (override.is_add() or override.is_force_add() or override.is_delete())
                if not (plain and _in_swept_group(override.key_or_group)):
                    raise
                OmegaConf.update(cfg, override.key_or_group, override.value(), merge=True,
                                 force_add=True)  # fmt: skip
        return None

    apply_overrides_to_config.lenient = True
    return staticmethod(apply_overrides_to_config)


def install() -> None:
    """Compose a sweep's own config so (once per process)."""
    if not getattr(ConfigLoaderImpl.load_configuration, "knows_sweep", False):
        ConfigLoaderImpl.load_configuration = _with_sweep(ConfigLoaderImpl.load_configuration)
    if not getattr(ConfigLoaderImpl._apply_overrides_to_config, "lenient", False):
        ConfigLoaderImpl._apply_overrides_to_config = _lenient(
            ConfigLoaderImpl._apply_overrides_to_config
        )


install()
