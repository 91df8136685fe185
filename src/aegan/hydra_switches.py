"""Hydra's own switches (``hydra.job.chdir``) take true, false or null, as aegan's take true
or false: OmegaConf's bool type read 1, 0, 'yes', 'on' or 'off' as one, without a word,
where ``trainer.channels_last=1`` is refused. Checked as typed, on the command line and in
a config file (``aegan.file_values``), before OmegaConf converts them."""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any

from hydra.conf import HydraConf
from hydra.core.override_parser.overrides_parser import OverridesParser

from aegan.errors import written
from aegan.overrides import override_key


@functools.cache
def switch_keys() -> frozenset[str]:
    """The dotted keys of Hydra's schema that OmegaConf types as a bool."""
    keys = set()

    def walk(schema: Any, prefix: str) -> None:
        for name, hint in typing.get_type_hints(schema).items():
            kinds = (hint, *typing.get_args(hint))
            if bool in kinds:
                keys.add(f"{prefix}{name}")
            for kind in kinds:
                if dataclasses.is_dataclass(kind):
                    walk(kind, f"{prefix}{name}.")

    walk(HydraConf, "hydra.")
    return frozenset(keys)


def switch_refusal(key: str, value: Any) -> str | None:
    """The line for ``value`` of Hydra's switch ``key`` where it is not true, false or
    null; else None."""
    if key not in switch_keys() or value is None or isinstance(value, bool):
        return None
    shown = repr(value) if isinstance(value, str) else written(repr(value))
    return f"{key}={shown} is not allowed: it must be true or false (or null: Hydra's default)"


def typed_switch(argv: list[str]) -> str | None:
    """The line for an override of Hydra's switch given another value than true, false or
    null (``hydra.job.chdir=1``); None where all are, or where Hydra cannot read one (it
    says so itself)."""
    parser = OverridesParser.create()
    for arg in argv:
        if override_key(arg) not in switch_keys() or arg.startswith("~"):
            continue
        try:
            override = parser.parse_override(arg)
        except Exception:  # Hydra's own line for it
            continue
        if not override.is_sweep_override():
            refusal = switch_refusal(override_key(arg), override.value())
            if refusal:
                return refusal
    return None
