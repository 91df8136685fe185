"""A refused value as the command line writes it: one a typed node of OmegaConf refused (a
setting of Hydra's own schema), with what the node takes, for the one line
``aegan.hydra_errors`` gives; a number in the line an entry point prints, as it was typed
(``one_line``)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import ValidationError

from aegan.errors import as_typed, shortened, written

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
    gives no one plain value (a sweep) or cannot be read."""
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


def as_given(message: str, argv: Sequence[str]) -> str:
    """``message`` with the number an override of ``argv`` set written as it was typed
    where the message names it (``KEY=VALUE``, or quoted ``KEY='VALUE'`` in a hint): a
    value is read as a number before any check sees it, so ``seed=1e3`` was refused as
    ``seed=1000.0``, and ``trainer.resume=1e3`` told to quote ``'1000.0'``. Not within a
    path: a job's folder named by its overrides (``lr=1e+30,seed=1/``) is named as it is."""
    for arg in argv:
        key, is_set, typed = arg.partition("=")
        key, value = key.lstrip("+~"), read_as_typed(typed) if is_set else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or repr(value) == typed:
            continue
        message = re.sub(  # the key whole, the number whole (not 1000.05 for 1000.0)
            rf"(?<![\w.,/]){re.escape(key)}=('?){re.escape(repr(value))}\1(?![\w,/]|\.\d)",
            lambda m, key=key, typed=typed: f"{key}={m[1]}{typed}{m[1]}",
            message,
        )
    return message
