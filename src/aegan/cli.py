"""The entry points' side of errors: a user's mistake is one line and exit code 2.

``one_line_errors`` turns the errors a user can fix from the message alone
(``aegan.errors.USER_ERRORS``) into one line; ``one_line_hydra_errors`` does the same for
the mistakes Hydra catches while composing the config. Both print ``error: ...`` on stderr
(``report_error``). ``debug=true`` (or ``HYDRA_FULL_ERROR=1``) shows the tracebacks instead.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from hydra.errors import (
    CompactHydraException,
    ConfigCompositionException,
    MissingConfigException,
    OverrideParseException,
    SearchPathException,
)
from omegaconf import OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    GrammarParseError,
    InterpolationResolutionError,
    InterpolationToMissingValueError,
    MissingMandatoryValue,
    UnsupportedInterpolationType,
    ValidationError,
)

from aegan.errors import USER_ERRORS, ConfigError, as_typed, shortened


@contextmanager
def one_line_errors(
    errors: tuple[type[Exception], ...], *, debug: bool, logger: logging.Logger
) -> Iterator[None]:
    """``errors`` (those a user can fix from the message alone) become one line in the log
    and exit code 2 instead of a traceback; ``debug=true`` lets them through."""
    try:
        yield
    except errors as err:
        if debug:
            raise
        report_error(str(err), logger)
        sys.exit(2)


def report_error(message: str, logger: logging.Logger | None = None) -> None:
    """``error: message`` as one line on stderr, as for Hydra's mistakes, and into the run's
    log file (Hydra's FileHandler) through ``logger``: not through its console handler,
    which would print it a second time, on stdout."""
    line = shortened(as_typed(" ".join(p.strip() for p in message.splitlines() if p.strip())))
    print(f"error: {line}", file=sys.stderr, flush=True)
    if logger is None or not logger.isEnabledFor(logging.ERROR):
        return
    record = logger.makeRecord(logger.name, logging.ERROR, "(error)", 0, line, (), None)
    node: logging.Logger | None = logger
    while node is not None:
        for handler in node.handlers:
            if isinstance(handler, logging.FileHandler) and record.levelno >= handler.level:
                handler.handle(record)
        node = node.parent if node.propagate else None


# A ``???`` left unset (evaluate's ``run``), read directly or through an interpolation.
UNSET_VALUE = (MissingMandatoryValue, InterpolationToMissingValueError)
# An interpolation that cannot be resolved (``${oc.env:NOPE}``, ``${nokey}``, ``${a b}``),
# which Hydra raises bare when it resolves ``hydra.run.dir`` and the like.
BROKEN_INTERPOLATION = (
    InterpolationResolutionError, UnsupportedInterpolationType, GrammarParseError,
)  # fmt: skip


def unset_message(key: str) -> str:
    """The one line for a ``???`` value left unset, from Hydra or from ``validate_config``."""
    return f"{key} is not set: add {key}=... to the command"


# What an OmegaConf node of TrainerSchema's types takes, for hydra_error_line.
NODE_TYPES = {
    "IntegerNode": "an integer",
    "FloatNode": "a number",
    "BooleanNode": "true or false",
}


def one_line_hydra_errors(hydra_main: Callable[..., object]) -> Callable[..., object]:
    """Wrap a ``@hydra.main`` function so that the command-line mistakes Hydra catches while
    composing the config (a misspelt group option or key, a value of the wrong type, an
    override that does not parse) are one line naming what is allowed, with exit code 2.
    Hydra's own report is several lines and suggests ``+key=value``, which our typed
    sections refuse anyway. ``debug=true`` or ``HYDRA_FULL_ERROR=1``: Hydra's report."""

    @functools.wraps(hydra_main)
    def run(*args: object, **kwargs: object) -> object:
        debug = any(arg.lower() in ("debug=true", "debug=1") for arg in sys.argv[1:])
        if debug or "HYDRA_FULL_ERROR" in os.environ:
            return hydra_main(*args, **kwargs)
        searchpath = missing_searchpath(sys.argv[1:])  # else Hydra warns, then goes on
        if searchpath is not None:
            report_error(searchpath)
            sys.exit(2)
        os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises instead of printing and exiting 1
        try:
            return hydra_main(*args, **kwargs)
        except (CompactHydraException, *UNSET_VALUE, *BROKEN_INTERPOLATION) as err:
            line = hydra_error_line(err)
            if line is None:
                raise
            report_error(line)
            sys.exit(2)
        except ValueError as err:  # Hydra refusing an override's value while composing
            if _raised_within(err, getattr(hydra_main, "__wrapped__", None)):
                raise
            ours = _user_error_within(err)  # e.g. the log file's handler (aegan.logfile)
            if ours is not None:
                report_error(str(ours))
                sys.exit(2)
            nulls = [a for a in sys.argv[1:] if re.fullmatch(r"[\w/.@]+=(null|None|~)?", a)]
            given = f"{', '.join(nulls)}: " if nulls else ""
            hint = " (a config group takes an option name)" if "Config group" in str(err) else ""
            report_error(f"{given}{str(err).splitlines()[0]}{hint}")
            sys.exit(2)
        except KeyboardInterrupt:  # Ctrl-C outside training's own handling (engine/interrupt.py):
            # while importing, composing or reading data, or a second one to stop at once
            report_error("stopped by Ctrl-C (SIGINT); a checkpoint already written is kept")
            sys.exit(130)
        except OSError as err:  # Hydra creating the run's folder, before the task runs
            if _raised_within(err, getattr(hydra_main, "__wrapped__", None)):
                raise
            report_error(
                f"the output folder cannot be created ({err.strerror or err}: "
                f"{err.filename}); choose a writable one with hydra.run.dir=... "
                "(hydra.sweep.dir=... for -m) or paths.log_dir=..."
            )
            sys.exit(2)
        finally:
            del os.environ["HYDRA_FULL_ERROR"]

    return run


def _raised_within(err: BaseException, function: object) -> bool:
    """Whether ``err`` was raised inside ``function`` (the task), not by Hydra around it."""
    code = getattr(function, "__code__", None)
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return True
        tb = tb.tb_next
    return code is None


def _user_error_within(err: BaseException) -> Exception | None:
    """An error of ``USER_ERRORS`` that ``err`` was raised from (``logging.config`` wraps
    a handler's error in "Unable to configure handler"), or None."""
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, USER_ERRORS):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def hydra_error_line(err: Exception) -> str | None:
    """One line for a config-composition error of Hydra's; None for any other error."""
    if isinstance(err, UNSET_VALUE):
        missing = re.search(r"Missing mandatory value: (\S+)", str(err))
        return unset_message(missing.group(1) if missing else err.full_key)
    if isinstance(err, BROKEN_INTERPOLATION):
        return interpolation_line(err)
    if isinstance(err, SearchPathException):  # --config-dir (-cd): a folder not there
        return f"--config-dir: {err}; give a config folder that exists"
    if isinstance(err, MissingConfigException):
        if not err.missing_cfg_file or "/" not in err.missing_cfg_file:
            return None  # the primary config itself: not a command-line mistake
        group, name = err.missing_cfg_file.rsplit("/", 1)
        if not err.options:
            return f"{group}={name}: there is no such {group} config"
        return f"{group}={name}: no such option; choose one of: {', '.join(err.options)}"
    if isinstance(err, OverrideParseException):
        reason = err.message.splitlines()[0]
        grammar = "https://hydra.cc/docs/advanced/override_grammar/basic/"
        return f"cannot read the override {err.override!r}: {reason} (the syntax: {grammar})"
    if not isinstance(err, ConfigCompositionException):
        return None
    cause = err.__cause__
    if cause is None:  # e.g. "model appears more than once in the final defaults list"
        return " ".join(line.strip() for line in str(err).splitlines() if line.strip())
    if isinstance(cause, BROKEN_INTERPOLATION):  # an override's value: what was typed
        typed = re.match(r"Error merging override [^=]+=(.*)", str(err), re.DOTALL)
        return interpolation_line(cause, typed.group(1) if typed else None)
    full_key = getattr(cause, "full_key", None)
    reason = str(getattr(cause, "msg", None) or cause).splitlines()[0]
    if isinstance(cause, (ConfigKeyError, ConfigAttributeError)) and full_key:
        parent = full_key.rpartition(".")[0]
        known = sorted(map(str, cause.parent_node.keys())) if cause.parent_node else []
        close = difflib.get_close_matches(str(cause.key), known, n=1)
        prefix = f"{parent}." if parent else ""
        if close:
            return f"{full_key} is not a setting; did you mean {prefix}{close[0]}?"
        if not parent and cause.parent_node is not None:  # a section's key at the top: epochs
            for section, node in cause.parent_node.items():
                if OmegaConf.is_dict(node) and cause.key in node:
                    return f"{full_key} is not a setting; did you mean {section}.{full_key}?"
        where = f"the settings of {parent}" if parent else "the sections"
        line = f"{full_key} is not a setting; {where} are: {', '.join(known)}"
        if parent.partition(".")[0] == "model":  # a class's argument that conf/ does not list
            line += f"; to pass one that {parent}._target_ takes, add it: +{full_key}=..."
        return line
    if isinstance(cause, ValidationError) and full_key:
        expected = NODE_TYPES.get(type(cause.child_node).__name__)
        if expected:
            return f"{full_key}={cause.value} is not allowed: it must be {expected}"
        return f"{full_key}={cause.value} is not allowed: {reason}"
    return f"{full_key}: {reason}" if full_key else f"{str(err).splitlines()[0]} {reason}"


def interpolation_line(err: Exception, typed: str | None = None) -> str:
    """One line for an interpolation that cannot be resolved, naming the key where it breaks:
    ``hydra.run.dir`` of aegan.evaluate is ``${...:${run}}``, but ``run`` is what was typed
    (``typed``: the value of the override that could not be merged). A ``ConfigError`` of
    one of aegan's resolvers (``aegan.log_dir``) already names its setting: its line alone."""
    cause: BaseException | None = err
    while cause is not None and not isinstance(cause, ConfigError):
        cause = cause.__cause__ or cause.__context__  # OmegaConf wraps, without ``from``
    if cause is not None:
        return str(cause)
    reason = " ".join(str(getattr(err, "msg", None) or err).split("\n")[0].split())[:200]
    verb = "read" if isinstance(err, GrammarParseError) else "resolved"
    key = getattr(err, "full_key", None)
    root = getattr(err, "parent_node", None)
    if not key:
        return f"an interpolation cannot be {verb}: {reason}"
    raw: object = typed
    if typed is None and root is not None:
        root = root._get_root()
        key = _broken_key(root, str(key), {str(key)})
        raw = _raw_value(root, key)
    value = "" if raw is None else f"={raw!r}"
    return f"{key}{value} cannot be {verb}: {reason}"


def _broken_key(root: object, key: str, seen: set[str]) -> str:
    """``key``, or the key it refers to (``${other}``) that fails to resolve itself."""
    for ref in re.findall(r"\$\{([A-Za-z_][\w.-]*)\}", str(_raw_value(root, key))):
        if ref in seen or _raw_value(root, ref) is None:
            continue
        try:
            OmegaConf.select(root, ref, throw_on_resolution_failure=True)
        except Exception:  # any failure there is the one to name
            return _broken_key(root, ref, seen | {ref})
    return key


def _raw_value(root: object, key: str) -> object:
    """The value of ``key`` as written (interpolations unresolved); None when there is none."""
    node = root
    try:
        for part in key.split("."):
            node = node._get_node(int(part) if part.isdigit() else part)
        return None if node is None else node._value()
    except Exception:  # no such key, or not a container on the way
        return None


def missing_searchpath(argv: list[str]) -> str | None:
    """The line for a ``hydra.searchpath=[...]`` entry that is not there (Hydra would warn in
    two lines and go on without it); None when every entry is there or it cannot be told."""
    from hydra._internal.sources_registry import SourcesRegistry
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.plugins import Plugins

    for arg in argv:
        if not re.match(r"(\+\+|\+)?hydra\.searchpath=", arg):
            continue
        try:
            (override,) = OverridesParser.create().parse_overrides([arg])
            entries = override.value()
        except Exception:  # not an override: Hydra's own line names it
            return None
        if not isinstance(entries, list):
            return None
        Plugins.instance()  # registers the file:// and pkg:// sources
        for entry in entries:
            if not isinstance(entry, str) or "${" in entry:
                continue
            scheme = entry.split("://", 1)[0] if "://" in entry else "file"
            source = SourcesRegistry.instance().types.get(scheme)  # unknown: Hydra's traceback
            if source is None or not source("hydra.searchpath", entry).available():
                there = scheme == "file" and os.path.exists(entry.split("://", 1)[-1])
                problem = ("is not allowed" if source is None
                           else "is a file, not a config folder" if there else "does not exist")  # fmt: skip
                return (
                    f"hydra.searchpath: {entry} {problem}; each entry must be a config folder "
                    "that exists: file://PATH or pkg://PACKAGE"
                )
    return None
