"""The key a command-line override sets, read one way everywhere, a value written so that
Hydra and OmegaConf take it as it is, and the lines for an override Hydra cannot read or
reads otherwise than it was meant (no key, a + before a group chosen already)."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence
from typing import Any

from hydra.core.override_parser.types import Override
from hydra.errors import OverrideParseException
from omegaconf import OmegaConf


def override_key(override: object) -> str:
    """The dotted key of a Hydra override: ``"+trainer.epochs=3"``, ``"++trainer.epochs=3"``
    and ``"~trainer.epochs"`` all give ``"trainer.epochs"``."""
    return str(override).partition("=")[0].lstrip("+~")


def given_overrides(hydra_cfg: Any) -> list[str]:
    """The command line's overrides (``hydra.overrides.task``) as typed. Read through
    OmegaConf, a ``${...}`` in one ran in Hydra's list: ``${..latent_dim}`` was looked up
    there and failed, a resolver ran again, and one that fails stopped the check before the
    run's folder."""
    return [str(o) for o in OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False)]


# the characters Hydra escapes with a \ in a value it hands a sweep's job (its grammar's)
HYDRA_ESCAPED = re.compile(r"\\([\\()\[\]{}:=, \t])")


def unescaped(override: str) -> str:
    """A sweep job's override as the user typed it: Hydra hands each job its value escaped
    (``seed=${hydra\\:job.num}``, ``x=a\\,b``)."""
    return HYDRA_ESCAPED.sub(r"\1", override)


def literal(text: str) -> str:
    """``text`` escaped for OmegaConf: a folder's name, set as a config value, stays that
    name (``${...}`` in it is no interpolation or resolver to run)."""
    return re.sub(r"(\\*)\$\{", lambda m: m[1] * 2 + "\\${", text)


def hydra_quoted(text: str) -> str:
    """``text`` as one quoted value of a Hydra override: a comma in a folder's name would
    make a sweep of it, a space or quote end it, ``${...}`` be resolved."""
    text = literal(text)  # ${ -> \${
    text = re.sub(r"(\\*)'", lambda m: m[1] * 2 + "\\'", text)  # a quote and the \ before it
    text = re.sub(r"(\\+)$", lambda m: m[1] * 2, text)  # \ before the closing quote
    return f"'{text}'"


def pasted_override(key: str, value: object) -> str:
    """``key=VALUE`` (a path) as a command's advice: pasted into a shell, it is that one
    override. Plain where the text is; else quoted for Hydra, then for the shell (a space
    ended the override, a comma made a sweep, non-ASCII letters were refused)."""
    text = str(value)
    if re.fullmatch(r"[\w./@+-]+", text, re.ASCII):
        return f"{key}={text}"
    return shlex.quote(f"{key}={hydra_quoted(text)}")


def searchpath_override(entries: Sequence[str]) -> str:
    """``hydra.searchpath=[...]`` of Python's ``entries`` (``load_run(searchpath=...)``), each
    one folder: quoted, so that a comma, ``=`` or bracket in its name is part of it, and a
    plain path's ``~`` expanded, as ``load_run``'s other paths are."""
    folders = (e if "://" in e else os.path.expanduser(e) for e in entries)
    return f"hydra.searchpath=[{','.join(map(hydra_quoted, folders))}]"


GRAMMAR = "https://hydra.cc/docs/advanced/override_grammar/basic/"
LEXER = "LexerNoViableAltException: "  # Hydra's words, then a line with ^ under the character


def unreadable_override_line(err: OverrideParseException) -> str:
    """One line for an override Hydra cannot read: why, and how to quote it where that helps."""
    reason = parse_reason(err)
    line = f"cannot read the override {err.override!r}: {reason} (the syntax: {GRAMMAR})"
    return line + _quoting_hint(str(err.override), unread_character(err))


def parse_reason(err: OverrideParseException) -> str:
    """Why Hydra cannot read an override, in its own words, without its lines that only
    repeat the override ("Error parsing override ...") or point at its documentation; for
    a character its lexer cannot read, that character, escaped: Hydra printed the override
    as it is, a line break in it breaking its line."""
    at = unread_character(err)
    if at is not None:
        override = str(err.override)
        char, where = override[at], f"at character {at + 1}"
        if char in "'\"":
            return f"the quote {where} is not closed"
        kind = "" if char.isprintable() else ", a control or invisible character,"
        in_value = "=" in override[:at]
        return f"{char!r} {where}{kind} cannot be read{' unquoted' if in_value else ' there'}"
    lines = [line.strip() for line in err.message.splitlines() if line.strip()]
    said = [line for line in lines if not line.startswith(("Error parsing override", "See http"))]
    # "ValueError while evaluating 'choice()': empty choice ...": the function is in the value
    said = [re.sub(r"^\w+ while evaluating '.*?': ", "", line) for line in said]
    return "; ".join(_in_words(line) for line in said or lines[:1])


# the parser's own words, which name its grammar's tokens (BRACKET_OPEN, UNQUOTED_CHAR) and
# Python's types (Union[int, float]), as what was typed and what is allowed
PARSER_WORDS = (
    (r"(?:extraneous|mismatched) input '(.*)' expecting .*", r"'\1' is not expected there"),
    (r"no viable alternative at input '(.*)'",
     r"'\1' is not complete: a bracket left open, or no value between commas"),
)  # fmt: skip
KINDS = {"int": "a number", "float": "a number", "str": "text", "bool": "true or false",
         "Sweep": "a sweep"}  # fmt: skip


def _in_words(line: str) -> str:
    for said, meant in PARSER_WORDS:
        if re.fullmatch(said, line):
            return re.sub(said, meant, line)
    typed = re.fullmatch(r"mismatch type argument (\S+): (\w+) is incompatible with (.*)", line)
    if typed is None:
        return line
    wanted = dict.fromkeys(KINDS.get(k, k) for k in re.findall(r"\w+", typed[3]) if k in KINDS)
    given = KINDS.get(typed[2], typed[2])
    return f"the argument {typed[1]} must be {' or '.join(wanted)}, not {given}"


def unread_character(err: OverrideParseException) -> int | None:
    """Where in the override Hydra's lexer stopped (its ``^``), or None."""
    if not err.message.startswith(LEXER):
        return None
    caret = re.search(r"\n( *)\^", err.message)
    at = len(caret.group(1)) - len(LEXER) if caret else -1
    return at if 0 <= at < len(str(err.override)) else None


def _quoting_hint(override: str, unread: int | None = None) -> str:
    """For a list whose items hold '=' unquoted (``aegan.evaluate``'s
    ``overrides=[trainer.epochs=2]``), the same list with those items quoted; for a value
    Hydra reads only quoted (a path with a letter outside ASCII, or a space; ``unread``:
    where its lexer stopped, in the value), the value quoted, or where it holds a control
    character, which one line cannot show, where to put the quotes; else ""."""
    key, _, value = override.partition("=")
    plain = not value.startswith(("'", '"', "[", "{"))
    in_value = unread is not None and "=" in override[:unread] and override[unread] not in "'\""
    quoted = in_value or not value.isascii() or any(c.isspace() for c in value)
    if plain and "'" not in value and quoted and not value.isprintable():
        return f"; remove it, or put the value in quotes with it inside them: {key}='...'"
    if plain and "'" not in value and quoted:
        return f"; quote the value: \"{key}='{value}'\""
    if not (value.startswith("[") and value.endswith("]") and "=" in value):
        return ""
    items = [item.strip() for item in value[1:-1].split(",")]
    items = [f'"{i}"' if "=" in i and not i.startswith(("'", '"')) else i for i in items]
    return f"; quote the items that hold '=': {key}='[{','.join(items)}]'"


def added_group(line: str, argv: list[str]) -> str:
    """For ``+model=vae`` typed, where the config chooses a model already: its own line, not
    Hydra's "Multiple values for model. To override a value use 'override model: vae'",
    advice for a defaults list in a file; else ``line``."""
    many = re.match(r"Multiple values for (\S+?)\. ", line)
    for arg in argv if many else ():
        if re.match(r"\+[^+]", arg) and override_key(arg) == many.group(1):
            group, value = many.group(1), arg.partition("=")[2]
            return (
                f"{arg} is not allowed: {group} is in the config's defaults list already; "
                f"choose its option with {group}={value}, without the +"
            )
    return line


def no_key(argv: list[str]) -> str | None:
    """The line for an override without a key (``=1``, ``+=1``, ``~``): Hydra took it as a
    config group's, and said "Config group override must be a string or a list. Got int"
    or "Could not delete ''", naming neither the override nor what it lacks."""
    for arg in argv:
        if re.fullmatch(r"(\+\+|\+|~)?=.*|~", arg, re.DOTALL):
            return f"{arg!r} is not an override: it needs a key: KEY=VALUE (seed=1), or ~KEY"
    return None


def verbose_line(err: BaseException, argv: list[str]) -> str | None:
    """For an error Hydra's ``configure_log`` raised on ``hydra.verbose`` (a number, null, a
    mapping: a bare AssertionError; a list holding a number: "A logger name must be a
    string"): the line naming it and what it takes; else None."""
    tb = err.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_name != "configure_log":
        tb = tb.tb_next
    if tb is None or not isinstance(err, (AssertionError, TypeError)):
        return None
    given = [a for a in argv if override_key(a) == "hydra.verbose"]
    shown = given[-1].lstrip("+") if given else "hydra.verbose (as a config file sets it)"
    return (
        f"{shown} is not allowed: it must be true, false, a logger's name (aegan.train) or a "
        "list of logger names"
    )


def sweep_without_multirun(message: str) -> str | None:
    """For Hydra's refusal of a sweep (``a,b``, ``choice()``, ``range()``, ``interval()``,
    ``glob()``, ``shuffle(a,b)``, ``tag(...)``) in a run without ``-m``: one line naming the
    override as a sweep; Hydra's was three numbered lines for ``a,b`` and ``shuffle(a,b)``,
    or "requires --multirun"."""
    found = re.match(r"(?:Sweep parameters|Ambiguous value for argument) '(.+?)'", message)
    if found is None:
        return None
    override = found.group(1)
    if "interval(" in override.partition("=")[2]:  # a range a search draws from, no grid's
        return (
            f"{override} is a search's range, not a value: run it with -m "
            "hparams_search=... (a search draws values from it), or give one value"
        )
    line = f"{override} is a sweep, not a value: run it with -m (a job for each value)"
    if not message.startswith("Ambiguous"):
        return f"{line}, or give one value"
    key = override_key(override)
    return f"{line}; a list is written {key}=[A,B], text holding a comma quoted: {key}='A,B'"


def deleted_group(argv: list[str], groups: tuple[str, ...]) -> str | None:
    """The line for ``~GROUP`` of a config group every run reads (``groups``: aegan's; and
    ``hydra`` and Hydra's own, ``hydra/job_logging``): Hydra composed without it, so ``~hydra``
    dropped the checks of the run's folder (made, then the run refused for a setting never
    typed), ``~hydra/job_logging`` stopped on "'root'" after making it, and ``~data`` was
    named as no setting."""
    for arg in argv:
        group = override_key(arg)
        if arg.startswith("~") and (group in (*groups, "hydra") or group.startswith("hydra/")):
            return (
                f"{arg} is not allowed: every run reads {group}; choose one of its options "
                f"with {group}=NAME"
            )
    return None


def group_at_package(argv: list[str], groups: tuple[str, ...]) -> str | None:
    """The line for ``GROUP@PACKAGE=NAME`` of a config group every run reads at its own place
    (``groups``: aegan's, with its recipes and searches; Hydra's ``hydra/...``): Hydra said
    "To append to your default list use +model@x=vae", and that put vae's settings under a
    key ``x`` that nothing reads, the run training the model chosen before without a word."""
    for arg in argv:
        group, at, _ = override_key(arg).partition("@")
        if at and (group in (*groups, "hydra") or group.startswith("hydra/")):
            return (
                f"{arg} is not allowed: an option of {group} is read only where {group} puts "
                f"it (@PACKAGE moves it where nothing reads it); choose one with {group}=NAME"
            )
    return None


def unknown_hydra_key(argv: list[str]) -> str | None:
    """The line for ``+hydra.KEY=...`` (or ``++``) where Hydra's own schema has no KEY
    (``+hydra.nope=1``, ``+hydra.run.nope=1``): the + added it, nothing read it, and the run
    went on without a word, where ``hydra.nope=1`` is refused. Mappings of Hydra's that
    take keys of the user's (``hydra.job.env_set``, a launcher's settings) are left alone."""
    import dataclasses
    import difflib
    import typing

    from hydra.conf import HydraConf

    for arg in argv:
        if not re.match(r"\+\+?hydra\.", arg):
            continue
        schema: Any = HydraConf
        path = "hydra"
        for part in override_key(arg).split(".")[1:]:
            if not dataclasses.is_dataclass(schema):
                break
            hints = typing.get_type_hints(schema)
            known = set(hints) - {"defaults"}
            if schema is HydraConf:  # and its groups' (hydra/env: hydra.env; hydra/output
                # sets hydra.run and hydra.sweep)
                known |= {name for entry in HydraConf().defaults for name in entry} - {"output"}
            if part not in known:
                close = difflib.get_close_matches(part, sorted(known), n=1)
                if close:
                    return f"{path}.{part} is not a setting; did you mean {path}.{close[0]}?"
                return f"{path}.{part} is not a setting; the settings of {path} are: " + ", ".join(
                    sorted(known)
                )
            schema, path = hints.get(part), f"{path}.{part}"
    return None


def override_in_flight(err: BaseException) -> str | None:
    """The override (as typed) that Hydra was applying where ``err`` was raised, or None."""
    tb = err.__traceback__
    while tb is not None:
        override = tb.tb_frame.f_locals.get("override")
        if isinstance(override, Override) and override.input_line:
            return override.input_line
        tb = tb.tb_next
    return None


# what OmegaConf says of a key that goes into a list: past its end, not a number, deleted
LIST_ENTRY = ("list index out of range", "invalid literal for int()", "list indices must be")


def list_entry_line(err: BaseException | None, override: str | None) -> str | None:
    """For ``override`` (as typed) failing on an entry of a list (``model.hidden_dims.5=5``
    past its end, ``.x=5``, ``~model.hidden_dims.0``): the line naming it and the list, for
    OmegaConf's words ("list index out of range", "invalid literal for int() with base 10:
    'x'", "list indices must be integers or slices, not str"); else None."""
    if err is None or not override or not any(w in str(err) for w in LIST_ENTRY):
        return None
    key = override_key(override)
    listed = key.rpartition(".")[0]
    if override.startswith("~"):
        why = "an entry of a list cannot be deleted"
    elif "out of range" in str(err):
        why = f"{listed} has no entry {key.rpartition('.')[2]}"
    else:
        why = f"{listed} is a list, its entries numbered from 0"
    return f"{override} is not allowed: {why}; give the whole list: {listed}=[A,B]"
