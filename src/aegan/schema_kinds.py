"""The kinds of value ``conf/`` gives its settings (``kind_of``), and the check of one
composed value against the value ``conf/`` holds for its key (``check_value``): of that
kind, finite, within 64 bits, a list of layer sizes of at most ``MAX_LAYERS``. A value of
another kind that would be of the right one quoted or unquoted (``seed='1'``,
``paths.data_dir=nan``) is named with the writing that gives it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from omegaconf import ListConfig

from aegan.errors import ConfigError, not_text, refused_value
from aegan.refused_values import read_as_typed
from aegan.schema_ties import TIE

INT64_MAX = 2**63 - 1
# Entries of a list of layer sizes (a key ending in one of SIZE_LISTS): ours hold 1 to 4,
# and each builds a layer, so that 50,000 took a minute to build before any refusal.
MAX_LAYERS = 1000
SIZE_LISTS = ("channels", "hidden_dims")
MISSING = object()


def settings(container: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every leaf of an unresolved ``OmegaConf.to_container``."""
    if isinstance(container, dict):
        items = container.items()
    elif isinstance(container, list):
        items = enumerate(container)
    else:
        yield prefix.rstrip("."), container
        return
    for name, value in items:
        yield from settings(value, f"{prefix}{name}.")


def kind_of(value: Any) -> str | None:
    """The kind a key holds, as messages name it; None for null and ties to another key
    (a resolver such as ``${oc.env:...}`` gives text)."""
    if value is None or (isinstance(value, str) and TIE.fullmatch(value)):
        return None
    if isinstance(value, str) and "${" in value:
        return "text"
    for kinds, name in (((bool,), "true or false"), ((int,), "an integer"),
                        ((float,), "a number"), ((str,), "text"), ((list,), "a list"),
                        ((dict,), "a mapping")):  # fmt: skip
        if isinstance(value, kinds):
            return name
    return "a plain value"


def fits(value: Any, want: Any) -> bool:
    """Whether ``value`` is of the kind of ``want`` (an integer where a number belongs)."""
    have, want = kind_of(value), kind_of(want)
    return have == want or (want == "a number" and have == "an integer")


def too_many_layers(key: str, value: Any) -> str:
    """Why ``value`` of ``key`` is refused as a list of layer sizes (``key`` ends in one of
    ``SIZE_LISTS``) longer than ``MAX_LAYERS``, else "": said before any network is built,
    on the command line and in a run's record alike."""
    if not str(key).endswith(SIZE_LISTS) or not isinstance(value, (list, tuple, ListConfig)):
        return ""
    if len(value) <= MAX_LAYERS:
        return ""
    shown = ", ".join(map(repr, list(value[:3])))
    return (
        f"{key}=[{shown}, ...] is not allowed: it must be a list of at most {MAX_LAYERS} "
        f"layer sizes, not {len(value):,}"
    )


def check_value(full: str, value: Any, want: Any, interpolation: str | None = None) -> None:
    """Raise ``ConfigError`` unless ``value`` (resolved; from ``interpolation``, where one
    gave it) is of the kind of ``want`` (what ``conf/`` holds for ``full``; ``MISSING``: a
    key it lacks), finite and within 64 bits.
    Where ``conf/`` holds null, it cannot tell the kind: a number that is not finite is left
    to the check of the code that reads the key, which names it (``data.root=nan``: a
    folder path, quoted)."""
    if too_many := too_many_layers(full, value):
        raise ConfigError(too_many)
    known = want is not MISSING
    kind = kind_of(want) if known else None
    if known and isinstance(value, dict) and not isinstance(want, dict):
        # where conf/ has a plain value: no mapping, so no _target_ either
        raise ConfigError(
            f"{full}={refused_value(value)} is not allowed: it must be {kind or 'a plain value'}"
        )
    if kind == "true or false" and value is None:
        raise ConfigError(f"{full}=null is not allowed: it must be true or false")
    if kind == "text" and value is not None and not fits(value, want):
        raise ConfigError(not_text(full, value, kind))
    if kind and value is not None and not fits(value, want):
        raise ConfigError(
            f"{full}={refused_value(value)} is not allowed: it must be {kind}"
            f"{unquoted_hint(full, value, want, interpolation)}"
        )
    if isinstance(value, list):
        element = want[0] if isinstance(want, list) and want else (None if known else MISSING)
        for index, item in enumerate(value):
            if item is None and element is not MISSING and kind_of(element) is not None:
                raise ConfigError(  # a hole in a list of sizes
                    f"{full}[{index}]=null is not allowed: it must be {kind_of(element)}"
                )
            check_value(f"{full}[{index}]", item, element)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_value(f"{full}.{key}", item, MISSING)
    else:
        _check_number(full, value, finite=want is not None)


def unquoted_hint(full: str, value: Any, want: Any, interpolation: str | None = None) -> str:
    """How to write ``value``, text, to read as ``want``'s kind: unquoted (``seed='1'``), or
    decoded where an ``interpolation`` gave it (``${oc.env:SEED}``: always text), else "";
    for the checks of a key whose kind ``conf/`` leaves open too."""
    if not isinstance(value, str):
        return ""
    read = read_as_typed(value.strip() if interpolation else value)
    if isinstance(read, str) or not fits(read, want):
        return ""
    if interpolation:  # its text is what oc.decode reads as YAML
        return f" ({interpolation} gives text: write ${{oc.decode:{interpolation}}})"
    if any(c.isspace() for c in value):
        return ""  # a space reads as two words on the command line
    return f" (unquoted: {full}={value})"


def _check_number(full: str, value: Any, *, finite: bool) -> None:
    if finite and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{full}={value!r} is not allowed: it must be a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX:
        raise ConfigError(f"{full}={value!r} is not allowed: it must fit in 64 bits")
