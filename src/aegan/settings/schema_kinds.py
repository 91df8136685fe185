"""The check of one composed value against the value ``conf/`` holds for its key
(``check_value``): of its kind (``aegan.settings.value_kinds``), finite, within 64 bits, a list of
layer sizes of at most ``MAX_LAYERS``. A value of another kind that would be of the right
one quoted or unquoted (``seed='1'``, ``paths.data_dir=nan``) is named with the writing
that gives it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from omegaconf import ListConfig

from aegan.errors import ConfigError, not_text, refused_value
from aegan.settings.value_kinds import fits, kind_of, unquoted_hint

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


def _check_number(full: str, value: Any, *, finite: bool) -> None:
    if finite and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{full}={value!r} is not allowed: it must be a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX:
        raise ConfigError(f"{full}={value!r} is not allowed: it must fit in 64 bits")
