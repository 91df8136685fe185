"""The primary config a command runs (``--config-name``) is one of that command's: it
composes the command's own settings (``defaults: [train, _self_]``), checked as Hydra
composes it, before any folder is made.

A config that does not (``seed: 1`` alone, ``--config-name model/vae``) came without
conf/hydra's folder checks and Hydra's own ``hydra.output_subdir=.hydra``: Hydra made the
run's folder, wrote its record and log there, and only then was the run refused, for a
setting the user never touched.
"""

from __future__ import annotations

import functools
from typing import Any

from hydra._internal.hydra import Hydra
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from aegan.cli.hydra_files import file_of
from aegan.cli.value_origins import kept_composition
from aegan.errors import ConfigError

COMMAND: dict[str, str] = {}  # the entry point running in this process (set by aegan.cli.one_line)
COMMANDS = ("train", "evaluate", "bench")  # aegan.NAME composes conf/NAME.yaml


def running_command(config_name: object = None) -> object:
    """The command running in this process (``train``, ``bench``, ``evaluate``: the file of
    its ``@hydra.main`` function), else ``config_name``. A primary config of the user's
    (``--config-name mine``, its defaults [train]) is that command's: checked by its name,
    a run of aegan.train was refused as aegan.bench's, a sweep's jobs went unchecked."""
    return COMMAND.get("name", config_name)


def missing_settings(composed: DictConfig, own: DictConfig) -> list[str]:
    """The settings of ``own`` (the command's config) that ``composed`` lacks: its sections
    and the callbacks that check the run's folder (``hydra.callbacks.*``)."""
    lacks = [key for key in own if key != "hydra" and key not in composed]
    callbacks = OmegaConf.select(composed, "hydra.callbacks") or {}
    return lacks + [
        f"hydra.callbacks.{name}"
        for name in OmegaConf.select(own, "hydra.callbacks") or {}
        if callbacks.get(name) is None
    ]


def check_primary_config(hydra: Any, config_name: str, composed: DictConfig, command: str) -> None:
    """``ConfigError`` for a primary config ``config_name`` that does not compose the
    settings of ``command``'s own config (conf/COMMAND.yaml, first on the search path)."""
    with kept_composition():  # the user's config stays the one a refused value names
        own = hydra.config_loader.load_configuration(command, [], RunMode.RUN)
    lacks = missing_settings(composed, own)
    if not lacks:
        return
    shown = ", ".join(lacks[:6]) + (f" and {len(lacks) - 6} more" if len(lacks) > 6 else "")
    raise ConfigError(
        f"--config-name {config_name}: {file_of(hydra.config_loader.repository, config_name)} "
        f"is not a config of aegan.{command}: it lacks {shown}; a config of its own must compose "
        f"{command}'s settings: begin it with defaults: [{command}, _self_]"
    )


def check_not_another_command(hydra: Any, config_name: str, command: str) -> None:
    """``ConfigError`` for the config of another of aegan's commands: ``bench`` composes
    all of train's settings and adds its own, which aegan.train then refused one by one as
    keys of the user's ("batch_size is not a setting; did you mean data.batch_size?")."""
    if config_name in COMMANDS and config_name != command:
        raise ConfigError(
            f"--config-name {config_name}: {file_of(hydra.config_loader.repository, config_name)} "
            f"is aegan.{config_name}'s config, not aegan.{command}'s: run python -m "
            f"aegan.{config_name}, or leave --config-name out"
        )


def _checked_compose(compose: Any) -> Any:
    @functools.wraps(compose)
    def compose_config(self: Hydra, config_name: str | None, *args: Any, **kwargs: Any) -> Any:
        # the compositions a command runs (a run, -m, --help) configure logging; the compose
        # API (notebooks, a run read back) and --cfg do not, and run nothing
        command = running_command()
        running = kwargs.get("with_log_configuration", args[2] if len(args) > 2 else False)
        if not running or command is None or config_name in (None, command):
            return compose(self, config_name, *args, **kwargs)
        check_not_another_command(self, config_name, str(command))
        try:
            composed = compose(self, config_name, *args, **kwargs)
        except Exception:  # an override the config has no key for: the config is the mistake
            alone = _composed_alone(self, config_name)
            if alone is not None:
                check_primary_config(self, config_name, alone, str(command))
            raise
        check_primary_config(self, config_name, composed, str(command))
        return composed

    compose_config.checks_primary = True
    return compose_config


def _composed_alone(hydra: Any, config_name: str) -> DictConfig | None:
    """``config_name`` composed without the command line's overrides; None where it cannot
    be (not there, not YAML): the error of the composition with them says why."""
    try:
        return hydra.config_loader.load_configuration(config_name, [], RunMode.RUN)
    except Exception:
        return None


def install() -> None:
    """Check the primary config as Hydra composes it (once per process)."""
    if not getattr(Hydra.compose_config, "checks_primary", False):
        Hydra.compose_config = _checked_compose(Hydra.compose_config)


install()
