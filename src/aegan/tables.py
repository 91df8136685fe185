"""Text tables for a terminal and for markdown: values one line each, escaped and capped
(``aegan.summarize``'s table of a sweep)."""

from __future__ import annotations

MAX_CELL_CHARS = 100  # in the printed and markdown tables; summary.csv keeps whole values


def plain(value: object) -> str:
    """A value as a table shows it: floats to 5 significant digits, None as nothing."""
    if isinstance(value, float):
        return f"{value:.5g}"
    return "" if value is None else str(value)


def printable(text: str, *, in_cell: bool = False) -> str:
    """``text`` on one line with nothing a terminal acts on: line breaks and control characters
    as escapes (``\\n``, ``\\x1b``); ``in_cell`` also ``|`` and ``\\`` escaped."""
    special = "|\\" if in_cell else ""
    if text.isprintable() and not any(c in text for c in special):
        return text
    return "".join(
        ("\\" + c if c in special else c)
        if c.isprintable()
        else c.encode("unicode_escape").decode()
        for c in text
    )


def cell(value: object) -> str:
    """A markdown table cell: at most ``MAX_CELL_CHARS`` of the value, escaped."""
    text = plain(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 3] + "..."
    return printable(text, in_cell=True)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table padded to align in a terminal as well."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])
