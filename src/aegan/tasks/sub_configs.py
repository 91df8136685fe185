"""A task's sub-configs (a network's, an optimizer's): each a mapping with a ``_target_``.

``build_network``, ``build_optimizer`` and ``check_read_by`` check the one they are given
before reading it; a task's constructor that fails on one before that (``"x" in net``)
is read back by ``check_sub_configs`` against the parameters it annotates as mappings.
Unchecked, ``model.optimizer=null`` failed inside the constructor, and the line named the
task's class (``no such class or function``), not the setting.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig, OmegaConf

from aegan.errors import ConfigError, refused_value, written

OPTIMIZER = "an optimizer, e.g. torch.optim.Adam with _partial_: true"
NETWORK = "a network: an nn.Module class and its settings"


def kind_of_part(key: str) -> str:
    """What the sub-config ``key`` builds, as a line names it (by its name: ``*optimizer``)."""
    return OPTIMIZER if "optimizer" in key.rpartition(".")[2] else NETWORK


def check_sub_config(key: str, cfg: Any, what: str | None = None) -> None:
    """Raise ``ConfigError`` unless ``cfg``, the sub-config ``key``, is a mapping whose
    ``_target_`` names a class; ``what``: what it builds (by default from ``key``)."""
    what = what or kind_of_part(key)
    if isinstance(cfg, (Mapping, DictConfig)):
        target = cfg.get("_target_")
        if isinstance(target, str) and target.strip():
            return
        if "_target_" in cfg:
            raise ConfigError(
                f"{key}._target_={target!r} is not allowed: it must name a class ({what})"
            )
        keys = ", ".join(written(repr(key)) for key in cfg) or "none"  # '' or a newline quoted
        raise ConfigError(
            f"{key} has no _target_ (its keys: {keys}): it must be a config with a _target_ "
            f"({what})"
        )
    if isinstance(cfg, ListConfig):
        cfg = OmegaConf.to_container(cfg, resolve=False)
    raise ConfigError(
        f"{key}={refused_value(cfg)} is not allowed: it must be a config with a _target_ ({what})"
    )


def check_sub_configs(key: str, cfg: DictConfig, given: Iterable[str] = ()) -> None:
    """Raise ``ConfigError`` for a sub-config of ``cfg`` (the section ``key``) that is no
    mapping, or not set, where its ``_target_``'s constructor annotates it as a mapping
    (``net: dict``). For a constructor that failed: which argument it could not read.
    ``given``: the arguments the code passes itself."""
    try:
        target = get_object(str(cfg.get("_target_")))
    except Exception:  # not a class: _instantiate names what is wrong with _target_
        return
    for name, parameter in _parameters(target).items():
        mapping, optional = _mapping_annotation(parameter.annotation)
        if not mapping or name in given:
            continue
        if name not in cfg:
            if parameter.default is inspect.Parameter.empty:  # Python's "missing argument"
                raise ConfigError(
                    f"{key}.{name} is not set (deleted with ~{key}.{name}?): "
                    f"{cfg.get('_target_')} takes it, a config with a _target_ "
                    f"({kind_of_part(name)})"
                )
            continue
        value = cfg[name]
        if value is None and (optional or parameter.default is None):
            continue
        if not isinstance(value, (Mapping, DictConfig)):  # a mapping may be the task's own
            check_sub_config(f"{key}.{name}", value)


def _parameters(target: Any) -> dict[str, inspect.Parameter]:
    """The keyword parameters of ``target``'s constructor, and where it takes ``**kwargs``
    those of its bases' (a subclass passes them on: InfoGanTask to GanTask)."""
    found: dict[str, inspect.Parameter] = {}
    classes = inspect.getmro(target) if inspect.isclass(target) else (target,)
    for cls in classes:
        function = cls.__init__ if inspect.isclass(cls) else cls
        try:
            signature = inspect.signature(function, eval_str=True)
        except Exception:  # an annotation that does not evaluate: nothing known of it
            return found
        for name, parameter in signature.parameters.items():
            if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD):
                found.setdefault(name, parameter)
        if not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
            break
    return found


def _mapping_annotation(annotation: Any) -> tuple[bool, bool]:
    """(whether ``annotation`` is a mapping type, whether it allows None)."""
    members: tuple = (annotation,)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = typing.get_args(annotation)
    mapping = any(
        isinstance(typing.get_origin(m) or m, type)
        and issubclass(typing.get_origin(m) or m, Mapping)
        for m in members
    )
    return mapping, type(None) in members
