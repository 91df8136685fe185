"""Hydra's own typed settings, given a value as typed (on the command line or in a config
file: ``aegan.file_values``), before OmegaConf converts it. Its switches
(``hydra.job.chdir``) take true, false or null, as aegan's take true or false: OmegaConf's
bool type read 1, 0, 'yes', 'on' or 'off' as one without a word, where
``trainer.channels_last=1`` is refused. Its text settings (``hydra.run.dir``,
``hydra.job.name``) take text, as aegan's do: its text type wrote true as 'True', and
``hydra.run.dir=true`` trained in a folder named True, ``hydra.run.dir=1e3`` in one named
1000.0."""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any

from hydra.conf import HydraConf
from hydra.core.override_parser.overrides_parser import OverridesParser

from aegan.errors import not_text, written
from aegan.overrides import override_key


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
