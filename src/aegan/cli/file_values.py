"""The values a config file (``conf/`` or the user's, on ``hydra.searchpath``) sets, checked
as it is loaded, before OmegaConf merges them: where a typed node would convert a value
(``hydra.job.chdir: 1`` read as true, ``hydra.run.dir: true`` as 'True', a sweeper's
``n_trials: '20'`` as 20) or refuse it in OmegaConf's words ("Merge error: int
is not a subclass of TrainerSchema"), or the file would empty a section (``trainer: null``,
named later as "trainer.epochs is not a setting"). Each is one line naming the option, the
key, the value and its file."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf

from aegan.cli.hydra_kinds import kind_refusal, node_refusal, plugin_nodes, typed_keys
from aegan.errors import ConfigError, written
from aegan.settings.refused_values import as_given
from aegan.settings.schema import CONF_DIR, DEFAULT_OPTIONS, GROUPS, option_file
from aegan.settings.schema_kinds import MISSING, check_value, settings

# the sections that hold settings, each a mapping: the config groups, evaluate and hydra
SECTIONS = (*GROUPS, "evaluate", "hydra")
# each config file's content as last loaded, by config path (its option, file, content
# placed, package), for naming a value of it that OmegaConf's merge refuses
_loaded: dict[str, tuple[str, str, dict, list[str]]] = {}


def package_parts(config_path: str, result: Any) -> list[str]:
    """The keys the package of the file ``config_path`` (loaded as ``result``, a
    ``ConfigResult``) puts its content under (``trainer/mine``: ``trainer``; ``# @package
    _global_``: none)."""
    group = config_path.rpartition("/")[0].replace("/", ".")
    package = (result.header or {}).get("package") or ("_group_" if group else "_global_")
    return [p for p in package.replace("_group_", group).split(".") if p not in ("", "_global_")]


def placed(config_path: str, result: Any) -> dict:
    """The content of the file at the place its package puts it in the composed config."""
    content: Any = OmegaConf.to_container(result.config, resolve=False)
    for part in reversed(package_parts(config_path, result)):
        content = {part: content}
    return content


def check_file_values(option: str, path: str, config_path: str, result: Any) -> None:
    """Raise ``ConfigError`` for a section the file sets to no mapping, or a typed setting
    of Hydra's or of its plugins' it sets to a value OmegaConf would convert or refuse
    (``aegan.cli.hydra_kinds``), or one of ``fixed_kinds`` it sets to another kind: one line
    naming the option, the value as the file writes it (``1e3``, not 1000.0) and the file."""
    content = placed(config_path, result)
    _loaded[config_path] = (option, path, content, package_parts(config_path, result))
    refused = _first_refusal(content)
    if refused is not None:
        raise ConfigError(_in_file(option, path, package_parts(config_path, result), *refused))


def _in_file(option: str, path: str, package: list[str], key: str, line: str) -> str:
    """``line`` (refusing ``key``'s value) with the value as the file writes it, the option
    and the file."""
    writing = written_in(path, key, package)
    return f"{option}: {as_given(line, [f'{key}={writing}'] if writing else [])} (set in {path})"


def merge_refusal(config_path: str, err: BaseException | None) -> str | None:
    """One line for ``err``, OmegaConf's refusal to merge the file loaded last as
    ``config_path`` ("Cannot merge DictConfig with ListConfig", naming no key): the file's
    mapping where the config composed before it holds a list, or its list where that holds
    a mapping. None for any other error."""
    composed = getattr(err, "parent_node", None)  # what the file was being merged into
    if not str(err).startswith("Cannot merge ") or config_path not in _loaded:
        return None
    option, path, content, package = _loaded[config_path]
    clash = _kind_clash(content, composed, "") if OmegaConf.is_dict(composed) else None
    if clash is None:
        return None
    key, value, lists = clash
    return _in_file(option, path, package, key, kind_clash_line(key, written(repr(value)), lists))


def kind_clash_line(key: str, shown: str, lists: bool) -> str:
    """A mapping given where conf/ holds a list (``lists``), or a list where it holds a
    mapping, refused in one line naming the key and the value ``shown``."""
    want, given = ("a list", "a mapping") if lists else ("a mapping of settings", "a list")
    return f"{key}={shown} is not allowed: it must be {want}, not {given}"


def _kind_clash(content: dict, node: Any, prefix: str) -> tuple[str, Any, bool] | None:
    """(dotted key, the file's value, whether ``node`` holds a list there) for the first of
    ``content``'s values that is a mapping where ``node`` holds a list, or the reverse."""
    for name, value in content.items():
        held = node._get_node(name, validate_access=False)  # None where it has no such key
        key = f"{prefix}{name}"
        if isinstance(value, dict) and OmegaConf.is_list(held):
            return key, value, True
        if isinstance(value, list) and OmegaConf.is_dict(held):
            return key, value, False
        if isinstance(value, dict) and OmegaConf.is_dict(held):
            clash = _kind_clash(value, held, f"{key}.")
            if clash is not None:
                return clash
    return None


def _first_refusal(content: dict) -> tuple[str, str] | None:
    """(the key, the line refusing its value) of the first value of ``content`` (a file's,
    placed) that ``check_file_values`` refuses; None where there is none."""
    for section in SECTIONS:
        value = content.get(section, {})
        if not isinstance(value, dict) and not (isinstance(value, str) and "${" in value):
            return section, (
                f"{section}={written(repr(value))} is not allowed: it must be a mapping of the "
                f"settings of {section}"
            )
    for key in typed_keys():
        refusal = kind_refusal(key, _at(content, key, None))
        if refusal:
            return key, refusal
    for section in ("hydra.sweeper", "hydra.launcher"):  # a plugin's typed settings (n_trials)
        for key, value in _entries(_at(content, section), section):
            refusal = _plugin_refusal(key, value)
            if refusal:
                return key, refusal
    for key, want in fixed_kinds().items():
        value = _at(content, key)
        if value is not MISSING and "${" not in str(value):  # resolved later: checked then
            try:
                check_value(key, value, want)
            except ConfigError as err:
                return key, str(err)
    return None


def written_in(path: str, key: str, package: list[str]) -> str | None:
    """The text that the YAML file ``path`` (its content under ``package``) holds for
    ``key`` (``1e3``, ``[1e3, 2]``), as written: a number is read before any check sees it;
    None where the file does not hold it so."""
    keys = key.split(".")
    if keys[: len(package)] != package:
        return None
    try:
        text = Path(path).read_text()
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, ValueError, yaml.YAMLError):  # not a file here (pkg://): as read
        return None
    keys = keys[len(package) :]
    while keys:  # a key of several parts in one (a sweeper's params: data.batch_size) too
        pairs = node.value if isinstance(node, yaml.MappingNode) else []
        named = {getattr(k, "value", None): v for k, v in pairs}
        end = next((e for e in range(len(keys), 0, -1) if ".".join(keys[:e]) in named), 0)
        if not end:
            return None
        node, keys = named[".".join(keys[:end])], keys[end:]
    return text[node.start_mark.index : node.end_mark.index]


def _plugin_refusal(key: str, value: Any) -> str | None:
    """``node_refusal`` by the node each plugin that has ``key`` gives it, where they agree
    (the file may not choose the plugin: the command line can)."""
    refusals = {node_refusal(key, value, node) for node in plugin_nodes(key)}
    return refusals.pop() if len(refusals) == 1 else None


def _entries(value: Any, key: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every key within ``value`` (at ``key``), a mapping's too: a
    list or mapping where a plugin's node takes one value is refused whole."""
    for name, item in value.items() if isinstance(value, dict) else ():
        yield f"{key}.{name}", item
        yield from _entries(item, f"{key}.{name}")


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


def _at(content: dict, key: str, absent: Any = MISSING) -> Any:
    node: Any = content
    for part in key.split("."):
        node = node.get(part, absent) if isinstance(node, dict) else absent
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
