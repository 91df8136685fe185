"""A refused value as the command line writes it: one a typed node of OmegaConf refused (a
setting of Hydra's own schema), with what the node takes, for the one line
``aegan.cli.hydra_errors`` gives; a number in the line an entry point prints, as it was typed
(``one_line``)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import ValidationError

from aegan.errors import USER_ERRORS, as_typed, shortened, written
from aegan.settings.override_size import too_large

# What an OmegaConf node of each type takes (TrainerSchema's, Hydra's own schema's).
NODE_KINDS = {
    "IntegerNode": "an integer",
    "FloatNode": "a number",
    "BooleanNode": "true or false",
    "StringNode": "text",  # Hydra's folders and names (hydra.run.dir, hydra.job.name)
}


def shown_value(value: object) -> str:
    """A value OmegaConf refused, as the command line writes it (``[a]``, not ``['a']``);
    text quoted where unquoted it would read as another value: ``trainer.epochs='1e3'``
    was shown as the number 1e3, and ``''`` as nothing (``trainer.epochs= is not allowed``)."""
    if OmegaConf.is_config(value):
        value = OmegaConf.to_container(value, resolve=False)
    if isinstance(value, str) and not _reads_as_itself(value):
        return repr(value)
    return written(repr(value)) if isinstance(value, (list, tuple, dict)) else str(value)


def _reads_as_itself(text: str) -> bool:
    """Whether ``key=text`` on the command line gives the text ``text``."""
    if not text or any(c.isspace() for c in text):
        return False  # key= is '', shown as nothing; a space reads as two words in a line
    return read_as_typed(text) == text


def read_as_typed(text: str) -> object:
    """The value ``key=text`` gives on the command line (``1`` for ``'1'``); None where it
    gives no one plain value (a sweep) or cannot be read, or not in a second (``too_large``:
    the line refusing a list of 50,000 items came after minutes of reading it here)."""
    if too_large([f"key={text}"]):
        return None
    try:
        override = OverridesParser.create().parse_override(f"key={text}")
    except (HydraException, RecursionError):  # its lexer's refusal; brackets nested deep
        return None
    return None if override.is_sweep_override() else override.value()


def node_wants(cause: ValidationError, reason: str) -> str:
    """What the node that refused a value takes, by its kind (a setting of Hydra's own
    schema: text, one of an enum's names, a list), in place of OmegaConf's words ("Cannot
    convert 'list' to string", "is not a valid input for <enum 'RunMode'>"); else
    ``reason``."""
    node, value = cause.child_node, cause.value
    value = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
    given = {list: "a list", tuple: "a list", dict: "a mapping"}.get(type(value), "")
    expected = NODE_KINDS.get(type(node).__name__)
    if expected is None and type(node).__name__ == "EnumNode":
        expected = f"one of {', '.join(m.name for m in node.enum_type)}"
    elif expected is None and OmegaConf.is_list(node):
        expected = "a list ([A,B])"
    elif expected is None and OmegaConf.is_dict(node):
        expected = "a mapping ({KEY:VALUE})"
    elif expected is None and re.match(r"Cannot convert '\w+' to string", reason):
        expected = "text"  # a key added to a mapping of text (+hydra.job.env_set.X=[a])
    if expected is None:
        return reason
    return f"it must be {expected}" + (f" (not {given})" if given and given not in expected else "")


def one_line(message: str, argv: Sequence[str]) -> str:
    """``message`` as the one line an entry point prints: its lines joined, values written
    as typed (``as_typed``, ``as_given``), long words cut (``shortened``)."""
    joined = " ".join(part.strip() for part in message.splitlines() if part.strip())
    return shortened(as_given(as_typed(joined), argv))


def overrides_as_given(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` whose one-line errors show the numbers of its ``overrides=[...]`` as the
    caller typed them (``aegan.load_run(R, overrides=["data.batch_size=1e3"])`` was refused
    as ``data.batch_size=1000.0``), as the command line's are shown."""

    @functools.wraps(fn)
    def with_overrides_as_given(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as err:
            given = kwargs.get("overrides")
            if isinstance(given, (list, tuple)) and err.args and isinstance(err.args[0], str):
                texts = [text for text in given if isinstance(text, str)]
                err.args = (as_given(err.args[0], texts), *err.args[1:])
            raise

    return with_overrides_as_given


def as_given(message: str, argv: Sequence[str]) -> str:
    """``message`` with each number an override of ``argv`` set written as it was typed
    where the message names it (``KEY=VALUE``, quoted ``KEY='VALUE'`` in a hint, an item of
    a list ``KEY[0]=VALUE``, or within the list ``KEY=[VALUE,2]``): a value is read as a
    number before any check sees it, so ``seed=1e3`` was refused as ``seed=1000.0``,
    ``trainer.resume=1e3`` told to quote ``'1000.0'``, and ``model.hidden_dims=[1e3]`` as
    ``[1000.0]``. Not within a path: a job's folder named by its overrides
    (``lr=1e+30,seed=1/``) is named as it is."""
    for arg in argv:
        key, is_set, typed = arg.partition("=")
        numbers = _numbers_as_typed(typed) if is_set else {}
        if not numbers:
            continue
        # the key whole, an item of it ([0], .name), then its value
        named = rf"(?<![\w.,/]){re.escape(key.lstrip('+~'))}(?:\[\d+\]|\.\w+)*(?:=|: )('?)"
        message = _lists_as_typed(message, named, numbers)
        for shown, given in numbers.items():  # the number whole: not 1000.05 for 1000.0
            message = re.sub(
                rf"({named}){re.escape(shown)}(\2(?![\w,/]|\.\d))",
                lambda m, given=given: f"{m[1]}{given}{m[3]}",
                message,
            )
    return message


# a text item quoted, or a bracket; and a word of a list or mapping written out
QUOTED_OR_BRACKET = r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"|[\[\]{}]"
QUOTED_OR_WORD = r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"|[^\s\[\]{},:'\"]+"


def _numbers_as_typed(typed: str) -> dict[str, str]:
    """{a number as Python writes it: as ``typed``, an override's value, wrote it} for each
    number it holds written otherwise (``1e3``: ``1000.0``; ``2``: ``2.0``, as a node that
    takes a number converts it), in a list or mapping too; one written two ways in it
    (``[1e3,1000.0]``) is left out, as no message tells them apart."""
    value = read_as_typed(typed)
    items = {typed: value}
    if isinstance(value, (list, dict)):  # its words but the quoted ones (text)
        words = {m[0] for m in re.finditer(QUOTED_OR_WORD, typed) if m[0][0] not in "'\""}
        items = {word: read_as_typed(word) for word in words if word[0] in "+-.0123456789"}
    ways: dict[str, set[str]] = {}
    for word, number in items.items():
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            ways.setdefault(repr(number), set()).add(word)
        if isinstance(number, int) and not isinstance(number, bool) and abs(number) < 2**53:
            ways.setdefault(repr(float(number)), set()).add(word)  # a number's node: 2 as 2.0
    return {shown: writings.pop() for shown, writings in ways.items()
            if len(writings) == 1 and shown not in writings}  # fmt: skip


def _lists_as_typed(message: str, named: str, numbers: dict[str, str]) -> str:
    """``message`` with ``numbers`` as typed within each list or mapping that a mention of
    its key (``named``) gives as the value; not where the list is a path's part (a job's
    folder ``hidden_dims=[1000.0],seed=1/``)."""
    parts, done = [], 0
    for mention in re.finditer(rf"{named}(?=[\[{{])", message):
        depth, end = 0, None
        for mark in re.finditer(QUOTED_OR_BRACKET, message[mention.end() :]):
            depth += (mark[0] in "[{") - (mark[0] in "]}")
            if depth == 0:
                end = mention.end() + mark.end()
                break
        if mention.start() < done or end is None:
            continue
        if re.match(rf"{re.escape(mention[1])}[\w,/]", message[end:]):
            continue
        items = re.sub(QUOTED_OR_WORD, lambda m: numbers.get(m[0], m[0]),
                       message[mention.end() : end])  # fmt: skip
        parts += [message[done : mention.end()], items]
        done = end
    return "".join(parts) + message[done:]
