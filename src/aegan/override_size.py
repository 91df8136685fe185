"""An override too large for Hydra's parser, refused before it reads it: its time grows with
the square of a list's length (a list of 50,000 layer sizes took it minutes before the
schema refused it) and it recurses once per level of brackets (a few thousand levels:
Python's "maximum recursion depth exceeded")."""

from __future__ import annotations

from aegan.schema import MAX_LAYERS

# values in one list, mapping, sweep or function's arguments: no setting takes more than a
# network's layers (schema.MAX_LAYERS), which Hydra reads in a tenth of a second
MAX_VALUES = MAX_LAYERS
MAX_NESTING = 32  # levels of brackets ([...], {...}, f(...)); conf/'s settings use 3


def too_large(argv: list[str]) -> str | None:
    """The line for the first override of ``argv`` that holds more than ``MAX_VALUES``
    values in one list, mapping, sweep or function call, or nests deeper than
    ``MAX_NESTING``; None when none does."""
    for arg in argv:
        most, depth = _largest(arg.partition("=")[2])
        if most > MAX_VALUES:
            return (
                f"{arg} is not allowed: it holds {most:,} values in one list or sweep; an "
                f"override holds at most {MAX_VALUES} in one (the longest list a setting takes: "
                "a network's layers)"
            )
        if depth > MAX_NESTING:
            return (
                f"{arg} is not allowed: its value nests {depth} brackets deep; an override "
                f"nests at most {MAX_NESTING}"
            )
    return None


def _largest(value: str) -> tuple[int, int]:
    """The most values that one list, mapping, sweep or function's arguments in ``value``
    holds (its commas outside quotes, plus one) and how deep its brackets nest."""
    counts, most, depth = [1], 1, 0
    quote, escaped = "", False
    for char in value:
        if escaped:  # \, \' and the like: the character itself
            escaped = False
        elif char == "\\":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{(":
            counts.append(1)
            depth = max(depth, len(counts) - 1)
        elif char in "]})" and len(counts) > 1:
            most = max(most, counts.pop())
        elif char == ",":
            counts[-1] += 1
    return max(most, *counts), depth
