"""An override too large for Hydra's parser, refused before it reads it: its time grows with
the square of a list's length (a list of 50,000 layer sizes took it minutes before the
schema refused it), it recurses once per level of brackets (a few thousand levels:
Python's "maximum recursion depth exceeded") and it reads a number as Python does, which
refuses one of more than 4,300 digits ("Exceeds the limit ... for integer string
conversion", a traceback)."""

from __future__ import annotations

import sys

# items in one list or mapping: no setting takes more than a network's layers
# (aegan.settings.schema_kinds.MAX_LAYERS, written out: aegan.settings.refused_values, below
# it, reads no override this refuses), which Hydra reads in a tenth of a second
MAX_ITEMS = 1000
# a sweep's values (a,b,... or choice(a,b,...)): a grid's jobs
# (aegan.sweep_checks.jobs.MAX_GRID_JOBS), which Hydra reads in a third of a second, their
# time growing with their number
MAX_SWEEP_VALUES = 10_000
MAX_NESTING = 32  # levels of brackets ([...], {...}, f(...)); conf/'s settings use 3


def too_large(argv: list[str]) -> str | None:
    """The line for the first override of ``argv`` that holds more than ``MAX_ITEMS`` items
    in one list or mapping, more than ``MAX_SWEEP_VALUES`` values in a sweep or function
    call, nests deeper than ``MAX_NESTING`` or holds a number of more digits than Python
    reads (``sys.get_int_max_str_digits``); None when none does."""
    for arg in argv:
        items, values, depth, digits = _largest(arg.partition("=")[2])
        if items > MAX_ITEMS:
            return (
                f"{arg} is not allowed: it holds {items:,} items in one list; an override holds "
                f"at most {MAX_ITEMS} in one (the longest list a setting takes: a network's layers)"
            )
        if values > MAX_SWEEP_VALUES:
            return (
                f"{arg} is not allowed: it sweeps {values:,} values; a sweep has at most "
                f"{MAX_SWEEP_VALUES:,} (a grid's jobs)"
            )
        if depth > MAX_NESTING:
            return (
                f"{arg} is not allowed: its value nests {depth} brackets deep; an override "
                f"nests at most {MAX_NESTING}"
            )
        if digits > (sys.get_int_max_str_digits() or digits):
            return (
                f"{arg} is not allowed: it holds a number of {digits:,} digits, more than Python "
                f"reads ({sys.get_int_max_str_digits():,}); no setting takes one so large"
            )
    return None


def _largest(value: str) -> tuple[int, int, int, int]:
    """The most items that one list or mapping in ``value`` holds, the most values of its
    sweep or of one function's arguments (each: its commas outside quotes, plus one), how
    deep its brackets nest, and the most digits of one number outside quotes (``1_000``: 4)."""
    opened, counts, most = [""], [1], {"[": 1, "(": 1}
    quote, escaped, depth = "", False, 0
    digits = longest = 0
    for char in value:
        if not quote and not escaped and (char.isdigit() or (char == "_" and digits)):
            digits += char != "_"
            longest = max(longest, digits)
            continue
        digits = 0
        if escaped:  # \, \' and the like: the character itself
            escaped = False
        elif char == "\\":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{(":
            opened.append("(" if char == "(" else "[")
            counts.append(1)
            depth = max(depth, len(counts) - 1)
        elif char in "]})" and len(counts) > 1:
            kind = opened.pop()
            most[kind] = max(most[kind], counts.pop())
        elif char == ",":
            counts[-1] += 1
    for kind, count in zip(opened, counts, strict=True):  # the sweep itself, or left open
        key = "[" if kind == "[" else "("
        most[key] = max(most[key], count)
    return most["["], most["("], depth, longest
