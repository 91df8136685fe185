"""Hydra's own typed settings, given a value as typed (on the command line or in a config
file: ``aegan.cli.file_values``), before OmegaConf converts it. Its switches
(``hydra.job.chdir``) take true, false or null, as aegan's take true or false: OmegaConf's
bool type read 1, 0, 'yes', 'on' or 'off' as one without a word, where
``trainer.channels_last=1`` is refused. Its text settings (``hydra.run.dir``,
``hydra.job.name``) take text, as aegan's do: its text type wrote true as 'True', and
``hydra.run.dir=true`` trained in a folder named True, ``hydra.run.dir=1e3`` in one named
1000.0. Its sweeper's and launcher's typed settings (``hydra.sweeper.n_trials``) take
their own kind alone, as aegan's do: their nodes read ``'20'`` as 20 and 1e3 for text as
'1000.0' (``node_refusal``); their text takes a whole number, as written."""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any

from hydra.conf import HydraConf
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from aegan.errors import not_text, written
from aegan.settings.overrides import override_key
from aegan.settings.refused_values import NODE_KINDS, shown_value
from aegan.settings.value_kinds import unquoted_hint

PLUGIN_GROUPS = ("hydra/sweeper", "hydra/launcher")


@functools.cache
def typed_keys() -> dict[str, type]:
    """The dotted keys of Hydra's schema that OmegaConf types as a bool or as text, each
    with its type."""
    keys = {}

    def walk(schema: Any, prefix: str) -> None:
        for name, hint in typing.get_type_hints(schema).items():
            kinds = (hint, *typing.get_args(hint))
            for kind in (bool, str):
                if kind in kinds:
                    keys[f"{prefix}{name}"] = kind
            for kind in kinds:
                if dataclasses.is_dataclass(kind):
                    walk(kind, f"{prefix}{name}.")

    walk(HydraConf, "hydra.")
    return keys


def kind_refusal(key: str, value: Any) -> str | None:
    """The line for ``value`` of Hydra's typed setting ``key`` where OmegaConf would convert
    it: a switch given other than true, false or null, text given true, false or a number
    (``hydra.run.dir=1e3``: a folder named 1000.0); else None."""
    kind = typed_keys().get(key)
    if kind is bool and value is not None and not isinstance(value, bool):
        shown = repr(value) if isinstance(value, str) else written(repr(value))
        return f"{key}={shown} is not allowed: it must be true or false (or null: Hydra's default)"
    if kind is str and isinstance(value, (bool, int, float)):  # nan: a folder named nan
        return not_text(key, value, "text")
    return None


def typed_hydra_value(argv: list[str]) -> str | None:
    """The line for an override of Hydra's typed setting that OmegaConf would convert
    (``hydra.job.chdir=1``, ``hydra.run.dir=true``); None where none is, or where Hydra
    cannot read one (it says so itself)."""
    parser = OverridesParser.create()
    for arg in argv:
        if override_key(arg) not in typed_keys() or arg.startswith("~"):
            continue
        try:
            override = parser.parse_override(arg)
        except Exception:  # Hydra's own line for it
            continue
        if not override.is_sweep_override():
            refusal = kind_refusal(override_key(arg), override.value())
            if refusal:
                return refusal
    return None


def node_refusal(key: str, value: Any, node: Any) -> str | None:
    """The line for ``value`` of a plugin's typed ``node`` (``n_trials: int``) where the
    node would convert it without a word (``'20'`` as 20, ``1e3`` for text as '1000.0',
    ``1`` for a switch as true) or refuse it in OmegaConf's words (``1e3``, ``true`` or null for an
    integer); None where the node takes it, or takes any value (the plugin checks those)."""
    kind = NODE_KINDS.get(type(node).__name__)
    if kind is None or node_takes(node, value):
        return None
    if kind == "text" and isinstance(value, (bool, float)):
        return not_text(key, value, kind)
    given = {list: " (not a list)", dict: " (not a mapping)"}.get(type(value), "")
    want = {"an integer": 0, "a number": 0.0, "text": ""}.get(kind, False)
    return (f"{key}={shown_value(value)} is not allowed: it must be {kind}{given}"
            f"{unquoted_hint(key, value, want)}")  # fmt: skip


def node_takes(node: Any, value: Any) -> bool:
    """Whether a typed ``node`` keeps ``value`` as given: of its kind (an integer where a
    number belongs), null where it is optional, or an interpolation or ``???``, which
    OmegaConf reads later."""
    if value is None:
        return bool(node._is_optional())
    if isinstance(value, str) and ("${" in value or value == "???"):
        return True
    # text takes a whole number, written as given: joblib's batch_size and pre_dispatch are
    # typed as text only to hold 'auto' or '2*n_jobs' too, and its launcher reads digits back
    kinds = {"IntegerNode": (int,), "FloatNode": (int, float), "BooleanNode": (bool,),
             "StringNode": (str, int)}[type(node).__name__]  # fmt: skip
    return isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))


def plugin_nodes(key: str) -> list[Any]:
    """The nodes that the sweeper and launcher options in Hydra's ConfigStore (the plugins'
    schemas: ``hydra/sweeper/optuna``, ``hydra/sweeper/sampler/tpe``...) give ``key``
    (``hydra.sweeper.n_trials``), one per option that has it."""
    found = []
    for group in PLUGIN_GROUPS:
        found += _nodes_in(ConfigStore.instance().repo, group, key)
    return found


def _nodes_in(repo: dict, group: str, key: str) -> list[Any]:
    entries: Any = repo
    for part in group.split("/"):
        entries = entries.get(part, {}) if isinstance(entries, dict) else {}
    found = []
    for name, entry in entries.items():
        if isinstance(entry, dict):  # a group inside (hydra/sweeper/sampler)
            found += _nodes_in(repo, f"{group}/{name}", key)
            continue
        package = (entry.package or "_group_").replace("_group_", group.replace("/", "."))
        if not key.startswith(f"{package}."):
            continue
        node: Any = entry.node
        for part in key[len(package) + 1 :].split("."):
            node = node._get_node(part) if _holds(node, part) else None
        if node is not None:
            found.append(node)
    return found


def _holds(node: Any, key: str) -> bool:
    """Whether ``node`` is a mapping that holds ``key``."""
    if not OmegaConf.is_dict(node) or node._is_none() or node._is_missing():
        return False  # a mapping the schema leaves null (a sweeper's params) holds none
    return key in node
