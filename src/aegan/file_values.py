"""The values a config file (``conf/`` or the user's, on ``hydra.searchpath``) sets, checked
as it is loaded, before OmegaConf merges them: where a typed node would convert a value
(``hydra.job.chdir: 1`` read as true, ``hydra.run.dir: true`` as 'True', a sweeper's
``n_trials: '20'`` as 20) or refuse it in OmegaConf's words ("Merge error: int
is not a subclass of TrainerSchema"), or the file would empty a section (``trainer: null``,
named later as "trainer.epochs is not a setting"). Each is one line naming the option, the
key, the value and its file."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf

from aegan.errors import ConfigError, written
from aegan.hydra_kinds import converted_refusal, kind_refusal, plugin_nodes, typed_keys
from aegan.schema import CONF_DIR, DEFAULT_OPTIONS, GROUPS, option_file
from aegan.schema_kinds import MISSING, check_value, settings

# the sections that hold settings, each a mapping: the config groups, evaluate and hydra
SECTIONS = (*GROUPS, "evaluate", "hydra")


def placed(config_path: str, result: Any) -> dict:
    """The content of the file ``config_path`` (loaded as ``result``, a ``ConfigResult``)
    at the place its package puts it in the composed config (``trainer/mine``: under
    ``trainer``; ``# @package _global_``: at the top)."""
    group = config_path.rpartition("/")[0].replace("/", ".")
    package = (result.header or {}).get("package") or ("_group_" if group else "_global_")
    parts = [p for p in package.replace("_group_", group).split(".") if p not in ("", "_global_")]
    content: Any = OmegaConf.to_container(result.config, resolve=False)
    for part in reversed(parts):
        content = {part: content}
    return content


def check_file_values(option: str, path: str, config_path: str, result: Any) -> None:
    """Raise ``ConfigError`` for a section the file sets to no mapping, or a typed setting
    of Hydra's or of its plugins' it sets to a value OmegaConf would convert
    (``aegan.hydra_kinds``)."""
    content = placed(config_path, result)
    for section in SECTIONS:
        value = content.get(section, {})
        if not isinstance(value, dict) and not (isinstance(value, str) and "${" in value):
            raise ConfigError(
                f"{option}: {section}={written(repr(value))} is not allowed: it must be a "
                f"mapping of the settings of {section} (set in {path})"
            )
    for key in typed_keys():
        node: Any = content
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        refusal = kind_refusal(key, node)
        if refusal:
            raise ConfigError(f"{option}: {refusal} (set in {path})")
    for section in ("hydra.sweeper", "hydra.launcher"):  # a plugin's typed settings (n_trials)
        for key, value in settings(_at(content, section), f"{section}."):
            if isinstance(value, str) and "${" not in value:  # resolved later: checked then
                refusal = _plugin_refusal(key, value)
                if refusal:
                    raise ConfigError(f"{option}: {refusal} (set in {path})")
    for key, want in fixed_kinds().items():
        value = _at(content, key)
        if value is not MISSING and "${" not in str(value):  # resolved later: checked then
            try:
                check_value(key, value, want)
            except ConfigError as err:
                raise ConfigError(f"{option}: {err} (set in {path})") from None


def _plugin_refusal(key: str, value: str) -> str | None:
    """``converted_refusal`` by the node each plugin that has ``key`` gives it, where they
    agree on its kind (the file may not choose the plugin: the command line can)."""
    refusals = {converted_refusal(key, value, node) for node in plugin_nodes(key)}
    return refusals.pop() if len(refusals) == 1 else None


@functools.cache
def fixed_kinds() -> dict[str, Any]:
    """The settings whose kind ``conf/`` gives whichever options are chosen (``train.yaml``'s
    own, ``trainer``'s and ``paths``'), dotted, each with the value ``conf/`` holds: a file
    that sets one to another kind is named, as it is for Hydra's typed settings."""
    conf = Path(CONF_DIR)
    ref = {k: v for k, v in option_file(str(conf / "train.yaml")).items() if k != "hydra"}
    for group in ("trainer", "paths"):
        ref[group] = option_file(str(conf / group / f"{DEFAULT_OPTIONS[group]}.yaml"))
    return dict(settings(ref))


def _at(content: dict, key: str) -> Any:
    node: Any = content
    for part in key.split("."):
        node = node.get(part, MISSING) if isinstance(node, dict) else MISSING
    return node


def not_yaml(err: yaml.YAMLError) -> str:
    """Why a file is not YAML, in one line and with where: the parser's two lines each named
    the file again ("while parsing a flow sequence in \"/x/mine.yaml\", line 3, column 11
    expected ',' or ']' ... in \"/x/mine.yaml\", line 4, column 1")."""
    mark = getattr(err, "problem_mark", None)
    said = [getattr(err, "context", None), getattr(err, "problem", None)]
    why = "; ".join(" ".join(str(part).split()) for part in said if part) or str(err).split("\n")[0]
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"is not YAML that can be read: {why}{where}"
