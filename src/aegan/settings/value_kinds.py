"""The kind of a plain value in the words every message uses (``kind_of``, ``fits``), and
the writing that gives a refused text the kind wanted (``unquoted_hint``: ``seed='1'`` is
refused, ``seed=1`` is not). At the bottom of the import graph beside ``aegan.errors``, so
that a leaf's own check (``data.subset`` in ``aegan.data``) names it as the schema's do."""

from __future__ import annotations

import re
from typing import Any

from aegan.errors import ConfigError
from aegan.settings.refused_values import read_as_typed
from aegan.settings.schema_ties import TIE


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


def unquoted_hint(full: str, value: Any, want: Any, interpolation: str | None = None) -> str:
    """How to write ``value``, text, to read as ``want``'s kind: unquoted (``seed='1'``; an
    item of a list within it: ``model.hidden_dims=['64']``), or decoded where an
    ``interpolation`` gave it (``${oc.env:SEED}``: always text), else ""; for the checks of
    a key whose kind ``conf/`` leaves open too."""
    if not isinstance(value, str):
        return ""
    read = read_as_typed(value.strip() if interpolation else value)
    if isinstance(read, str) or not fits(read, want):
        return ""
    if interpolation:  # its text is what oc.decode reads as YAML
        return f" ({interpolation} gives text: write ${{oc.decode:{interpolation}}})"
    if any(c.isspace() for c in value):
        return ""  # a space reads as two words on the command line
    item = re.fullmatch(r"(.+?)\[\d+\].*", full)  # no override sets an item of a list alone
    return f" (unquoted in {item[1]}: {value})" if item else f" (unquoted: {full}={value})"


def check_texts(**arguments: Any) -> None:
    """``ConfigError`` naming the argument that is not a list or tuple of strings (a string
    alone was read a character at a time: searchpath="DIR" as D, I and R)."""
    for name, given in arguments.items():
        if not isinstance(given, (list, tuple)) or not all(isinstance(x, str) for x in given):
            raise ConfigError(f"{name}={given!r:.80} is not allowed: it must be a list of strings")
