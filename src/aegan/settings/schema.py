"""Every composed setting against ``conf/``: the first check of ``validate_config``.

The option files of ``conf/`` are the schema: each key takes values of the kind its file
holds (an integer, a number, true or false, text, a list of those, a mapping:
``aegan.settings.schema_kinds``), every value resolves, every number is finite and fits 64 bits,
and a key that ``conf/`` ties to
another (``latent_dim: ${..latent_dim}``) keeps that key's value. Ranges are checked by
the code that uses each setting (``check_number`` in the task constructors, the engine's
checks in ``aegan.config``). Keys that ``conf/`` does not have (a user's own option or
``+key=...``) get the generic checks only, their own code checks them, except in the
sections the engine alone reads (``CLOSED_SECTIONS``), where they are refused, and at the
top level of a command, where one that reads as a setting misplaced or misspelt is refused
(``check_own_keys``).
"""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import InterpolationToMissingValueError, MissingMandatoryValue

from aegan.errors import ConfigError, not_text, refused_value, unresolved_reason
from aegan.settings.schema_kinds import MISSING, check_value
from aegan.settings.schema_ties import TIE, check_tie, check_tie_target
from aegan.settings.value_kinds import kind_of

# conf/ of this checkout (the package is installed editable from src/). An absolute path,
# so every entry point finds it: `python -m aegan.train` and the `aegan-train` script, for
# which Hydra would read a relative path as the Python package `conf`.
CONF_DIR = str(Path(__file__).resolve().parents[3] / "conf")
GROUPS = ("data", "model", "trainer", "logger", "paths")
CODE_KEYS = ("_target_", "_args_", "_partial_", "_recursive_", "_convert_")
DEFAULT_OPTIONS = {"trainer": "default", "logger": "tensorboard", "paths": "default"}
# Sections whose every key is read by the engine: one it does not know (``+trainer.epoch=2``,
# a typo) would be ignored in silence. A model's keys go to its task's constructor instead.
CLOSED_SECTIONS = ("data", "trainer", "logger", "paths", "evaluate")
UNSET = (MissingMandatoryValue, InterpolationToMissingValueError)


@functools.cache
def option_file(path: str) -> Any:
    """An option file of ``conf/`` as unresolved plain data (without its defaults list)."""
    data = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    if isinstance(data, dict):
        data.pop("defaults", None)
    return data


# A config option's file name: no path, and short enough for any file system.
OPTION_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def hydra_choices() -> dict[str, str | None]:
    """The options Hydra composed this run from (``model``: ``vae``...); none outside a
    Hydra app (a notebook, ``compose_config``)."""
    return dict(HydraConfig.get().runtime.choices) if HydraConfig.initialized() else {}


def option_choices(cfg: DictConfig, conf_dir: str | Path) -> dict[str, str | None]:
    """The option of each group that ``cfg`` was composed from, as far as ``conf/`` knows
    it: the ``name`` that ``model`` and ``data`` carry, else Hydra's record of the run."""
    hydra = hydra_choices()
    choices = {}
    for group in GROUPS:
        name = OmegaConf.select(cfg, f"{group}.name", throw_on_resolution_failure=False)
        if name is not None and not isinstance(name, str):
            raise ConfigError(not_text(f"{group}.name", name, "text"))
        known = name and OPTION_NAME.fullmatch(name)  # before the name touches the disk
        own = name if known and (Path(conf_dir) / group / f"{name}.yaml").is_file() else None
        choices[group] = own or hydra.get(group)
    return choices


def check_option_names(cfg: DictConfig) -> None:
    """``model.name`` and ``data.name`` name the options the run was composed from: its
    record picks its config by them (``aegan.runs.record.record_config``), so a renamed one
    trains a run that cannot be evaluated or resumed."""
    hydra = hydra_choices()
    for group in ("model", "data"):
        name, option = cfg[group].get("name"), hydra.get(group)
        if option is not None and name not in (None, option):
            raise ConfigError(  # a copied option's file keeps the name it was copied from
                f"{group}.name={name!r} is not allowed: it must be {option!r}, the name of "
                f"{group}={option}: set name: {option} in its file {group}/{option}.yaml (or "
                f"leave name out), or choose that option with {group}={name}"
            )
        if option is None and not (isinstance(name, str) and OPTION_NAME.fullmatch(name)):
            raise ConfigError(
                f"{group}.name={name!r} is not allowed: it must be the name of the {group} "
                "option the config was composed from"
            )


def reference(conf_dir: str | Path, choices: dict[str, str | None]) -> dict[str, Any]:
    """What ``conf/`` holds for the chosen options: ``train.yaml``'s own keys and, per
    group, the chosen option's file (``None`` for an option outside ``conf/``)."""
    conf = Path(conf_dir)
    ref = dict(option_file(str(conf / "train.yaml")))
    for group in GROUPS:
        choice = choices.get(group) or DEFAULT_OPTIONS.get(group)
        path = conf / group / f"{choice}.yaml"
        ok = isinstance(choice, str) and OPTION_NAME.fullmatch(choice) and path.is_file()
        ref[group] = option_file(str(path)) if ok else None
    return ref


def code_in(value: Any) -> str:
    """Where ``value`` holds a key that makes Hydra run code (".a._target_"), or ""."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in CODE_KEYS:
                return f".{key}"
            inner = code_in(item)
            if inner:
                return f".{key}{inner}"
    elif isinstance(value, list):
        for index, item in enumerate(value):
            inner = code_in(item)
            if inner:
                return f"[{index}]{inner}"
    return ""


def check_settings(cfg: DictConfig, ref: dict[str, Any]) -> None:
    """Raise ``ConfigError`` for the first key of ``cfg`` that does not resolve or whose
    value is not of ``ref``'s kind, not finite, beyond 64 bits or off its tie."""
    _walk(cfg, cfg, ref, prefix="")


def check_not_deleted(cfg: DictConfig, ref: dict[str, Any], prefix: str = "") -> None:
    """Refuse a setting of ``ref`` (what ``conf/`` holds) that the command deleted
    (``~seed``, ``~data.subset``): the code reads each of them. A model's settings may be
    left to its task's defaults, so ``model`` is not walked."""
    for key, value in ref.items():
        full = f"{prefix}{key}"
        if key in ("hydra", "defaults") or full == "model":
            continue
        if key not in cfg:
            raise ConfigError(
                f"{full} is not set (deleted with ~{full}?); every setting in conf/ is read: "
                f"give it a value ({full}=...) instead"
            )
        if isinstance(value, dict) and isinstance(cfg[key], DictConfig):
            check_not_deleted(cfg[key], value, f"{full}.")


def check_own_keys(cfg: DictConfig, ref: dict[str, Any]) -> None:
    """Refuse a top-level key that ``ref`` (what ``conf/`` holds for the command) lacks
    where it reads as a setting misplaced or misspelt (``+epochs=3``, ``+modle.beta=2``):
    Hydra's refusal of an unknown key suggests the ``+`` that adds it, and nothing would
    read it. Other keys of the user's own pass."""
    sections = {key: value for key, value in ref.items() if isinstance(value, dict)}
    for key in cfg:
        if key in ref or key == "hydra":
            continue
        meant = [f"{name}.{key}" for name, section in sections.items() if key in section]
        meant += difflib.get_close_matches(str(key), list(ref), n=1, cutoff=0.8)  # a typo
        if meant:
            raise ConfigError(
                f"{key} is not a setting; did you mean {meant[0]}? (a key of your own needs "
                "a name unlike aegan's)"
            )


def _resolved(node: Any, key: Any, full: str) -> Any:
    try:
        value = node[key]
        if isinstance(value, (DictConfig, ListConfig)):
            value = OmegaConf.to_container(value, resolve=True)
    except UNSET:  # ``???``: the entry points' own line names it
        raise
    except Exception as err:  # an interpolation or resolver that fails: one line
        raw = node._get_node(key)._value() if hasattr(node, "_get_node") else "?"
        raise ConfigError(f"{full}={raw!r} cannot be resolved: {unresolved_reason(err)}") from None
    return value


def _walk(cfg: DictConfig, node: DictConfig, ref: Any, prefix: str) -> None:
    for key in node:
        try:
            _check_key(cfg, node, key, ref, prefix)
        except ConfigError as err:  # the innermost key refused, where no check named them
            err.keys = err.keys or (f"{prefix}{key}",)
            raise


def _check_key(cfg: DictConfig, node: DictConfig, key: Any, ref: Any, prefix: str) -> None:
    full = f"{prefix}{key}"
    child = node._get_node(key)
    want = ref.get(key, MISSING) if isinstance(ref, dict) else MISSING
    if want is MISSING and isinstance(ref, dict) and prefix[:-1] in CLOSED_SECTIONS:
        raise ConfigError(_not_a_setting(full, ref))
    if OmegaConf.is_dict(child) and not child._is_interpolation():
        if want is not MISSING and want is not None and not isinstance(want, dict):
            given = refused_value(OmegaConf.to_container(child, resolve=False))
            raise ConfigError(
                f"{full}={given} is not allowed: it must be {kind_of(want) or 'a plain value'}, "
                "not a mapping"
            )
        _walk(cfg, child, want if isinstance(want, dict) else MISSING, f"{full}.")
        return
    if child._is_interpolation() and child._value() == want:
        tie = TIE.fullmatch(want)
        if tie:  # conf/'s own tie: the key it reads must be there (``~model.latent_dim``)
            check_tie_target(cfg, full, tie)
        return  # conf/'s own interpolation (${hydra:...} outside a Hydra app): its kind
    value = _resolved(node, key, full)
    check_value(full, value, want, child._value() if child._is_interpolation() else None)
    tie = TIE.fullmatch(want) if isinstance(want, str) else None
    if tie and child._value() != want:  # set apart from the key conf/ ties it to
        check_tie(cfg, full, value, tie)


def _not_a_setting(full: str, ref: dict) -> str:
    section, _, key = full.rpartition(".")
    close = difflib.get_close_matches(key, list(ref), n=1)
    if close:
        return f"{full} is not a setting; did you mean {section}.{close[0]}?"
    return f"{full} is not a setting; the settings of {section} are: {', '.join(ref)}"
