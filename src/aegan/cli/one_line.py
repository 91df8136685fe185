"""The entry points' side of errors: a user's mistake is one line and exit code 2.

``one_line_errors`` turns the errors a user can fix from the message alone
(``aegan.errors.USER_ERRORS``) into one line; ``one_line_hydra_errors`` does the same for
the mistakes Hydra catches while composing the config (each read by ``aegan.cli.hydra_errors``).
Both print ``error: ...`` on stderr (``report_error``), values as typed; ``debug=true``: the
tracebacks.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hydra.errors import CompactHydraException

import aegan.cli.hydra_files  # noqa: F401  (each config file checked as Hydra loads it)
import aegan.cli.hydra_sweep_base  # noqa: F401  (a sweep of options with their own settings)
from aegan.cli.hydra_errors import (
    BROKEN_INTERPOLATION,
    UNSET_VALUE,
    composition_line,
    hydra_error_line,
    logging_config_line,
)
from aegan.cli.hydra_flags import flags_line, rerun_line
from aegan.cli.hydra_kinds import typed_hydra_value
from aegan.cli.hydra_primary import COMMAND  # and --config-name: a config of the command running
from aegan.cli.hydra_searchpath import missing_searchpath
from aegan.cli.value_origins import named_by_its_file, with_held_overrides
from aegan.engine.job_store import first_to_say
from aegan.errors import USER_ERRORS, TrialFailed
from aegan.settings.override_size import too_large
from aegan.settings.overrides import (
    added_group,
    deleted_group,
    group_at_package,
    list_entry_line,
    no_key,
    override_in_flight,
    override_key,
    unknown_hydra_key,
    verbose_line,
)
from aegan.settings.refused_values import one_line
from aegan.settings.schema import GROUPS
from aegan.signals.starting_signals import stopped_by, stopped_line
from aegan.signals.sweep_stops import end_of_sweep_in_workers
from aegan.sweeps.end import end_line


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
    # seed=1e3 as typed (aegan.evaluate's overrides=[...] too), or as its file writes it
    line = one_line(named_by_its_file(message), with_held_overrides(sys.argv[1:]))
    if not first_to_say(line):  # under torchrun, another process of the job has said it
        return
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


def one_line_hydra_errors(hydra_main: Callable[..., object]) -> Callable[..., object]:
    """Wrap a ``@hydra.main`` function so that the command-line mistakes Hydra catches while
    composing the config (a misspelt group option or key, a value of the wrong type, an
    override that does not parse) are one line naming what is allowed, with exit code 2.
    Hydra's own report is several lines and suggests ``+key=value``, which our typed
    sections refuse anyway. ``debug=true`` or ``HYDRA_FULL_ERROR=1``: Hydra's report."""

    def hydra_main_to_its_stop(*args: object, **kwargs: object) -> object:
        try:
            return hydra_main(*args, **kwargs)
        finally:  # a stop while a joblib sweep's jobs ran: its line and signal, not theirs
            end_of_sweep_in_workers()

    @functools.wraps(hydra_main)
    def run(*args: object, **kwargs: object) -> object:
        task = getattr(hydra_main, "__wrapped__", hydra_main)
        COMMAND["name"] = Path(task.__code__.co_filename).stem  # under -m, __module__ is __main__
        # true alone, as the schema takes it: debug=1 showed Hydra's traceback, then was refused
        debug = any(re.fullmatch(r"\+{0,2}debug=true", arg, re.I) for arg in sys.argv[1:])
        rerun = rerun_line(sys.argv[1:])  # with debug=true too: it would run a file's code
        if rerun is not None:
            report_error(rerun)
            sys.exit(2)
        if "HYDRA_FULL_ERROR" in os.environ:
            return hydra_main_to_its_stop(*args, **kwargs)
        if debug:  # Hydra's full traceback, not its few lines that ask for HYDRA_FULL_ERROR
            os.environ["HYDRA_FULL_ERROR"] = "1"
            try:
                return hydra_main_to_its_stop(*args, **kwargs)
            finally:
                del os.environ["HYDRA_FULL_ERROR"]
        argv = sys.argv[1:]
        # too_large first: the others parse overrides as Hydra does, minutes for a huge one
        checks = (too_large, flags_line, no_key, missing_searchpath, changed_guard,
                  group_not_named, functools.partial(deleted_group, groups=GROUPS),
                  functools.partial(group_at_package, groups=ONE_OPTION),
                  unknown_hydra_key, typed_hydra_value)  # fmt: skip
        for check in checks:
            refusal = check(argv)
            if refusal is not None:  # else Hydra warns and goes on, or writes unchecked
                report_error(refusal)
                sys.exit(2)
        os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises instead of printing and exiting 1
        try:
            return hydra_main_to_its_stop(*args, **kwargs)
        except TrialFailed as err:  # more of a search's trials failed than it allows
            stopped = (
                "the search stopped: more trials failed than hydra.sweeper.max_failure_rate allows"
            )
            _end_of_sweep(f"{stopped}; ")
            report_error(f"{stopped} ({err})")
            sys.exit(1)
        except (CompactHydraException, *UNSET_VALUE, *BROKEN_INTERPOLATION) as err:
            line = hydra_error_line(err)
            if line is None:
                if _raised_within(err, getattr(hydra_main, "__wrapped__", None)):
                    raise
                line = composition_line(err)
            report_error(added_group(line, sys.argv[1:]))
            sys.exit(2)
        except ValueError as err:  # Hydra refusing an override's value while composing
            if _raised_within(err, getattr(hydra_main, "__wrapped__", None)):
                raise
            _end_of_sweep()  # Optuna's "No trials are completed yet": which failed, and why
            ours = _user_error_within(err)  # e.g. the log file's handler (aegan.io.logfile)
            if ours is not None:
                report_error(str(ours))
                sys.exit(2)
            line = logging_config_line(err, sys.argv[1:])
            line = line or list_entry_line(err, override_in_flight(err))  # model.hidden_dims.x=5
            if line is not None:
                report_error(line)
                sys.exit(2)
            nulls = [a for a in sys.argv[1:] if re.fullmatch(r"[\w/.@]+=(null|None|~)?", a)]
            given = f"{', '.join(nulls)}: " if nulls else ""
            hint = " (a config group takes an option name)" if "Config group" in str(err) else ""
            report_error(f"{given}{str(err).splitlines()[0]}{hint}")
            sys.exit(2)
        except KeyboardInterrupt:  # Ctrl-C past the handlers: a second one, to stop at once
            report_error(stopped_line(signal.SIGINT, f"aegan.{COMMAND['name']}"))
            raise stopped_by(signal.SIGINT) from None
        except OSError as err:  # Hydra creating the run's folder, before the task runs
            if _raised_within(err, getattr(hydra_main, "__wrapped__", None)):
                raise
            report_error(
                f"the output folder cannot be created ({err.strerror or err}: "
                f"{err.filename}); choose a writable one with hydra.run.dir=... "
                "(hydra.sweep.dir=... for -m) or paths.log_dir=..."
            )
            sys.exit(2)
        except Exception as err:  # any other, from Hydra or OmegaConf around the task: an
            # override they could not apply (an AssertionError), a launcher's unknown setting
            if _raised_within(err, getattr(hydra_main, "__wrapped__", None)):
                raise
            report_error(verbose_line(err, sys.argv[1:]) or composition_line(err))
            _end_of_sweep()  # and the jobs it ran that ended without results
            sys.exit(2)
        finally:
            del os.environ["HYDRA_FULL_ERROR"]

    return run


def _end_of_sweep(why: str = "") -> None:
    """A sweep that ran jobs and then raised (its sweeper): the line of the jobs that ended
    without results after ``why``, exit code 1, in place of the sweeper's words."""
    line = end_line()
    if line is not None:
        report_error(why + line)
        sys.exit(1)


def _raised_within(err: BaseException, function: object) -> bool:
    """Whether ``err`` was raised inside ``function`` (the task), not by Hydra around it."""
    code, tb = getattr(function, "__code__", None), err.__traceback__
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


# the config groups of conf/ that take one option each (and Hydra's own: hydra, hydra/...)
ONE_OPTION = (*GROUPS, "experiment", "hparams_search")
# conf/'s callbacks that check a folder before Hydra writes there (aegan.sweep_checks.settings)
GUARDS = ("hydra.callbacks.check_sweep", "hydra.callbacks.keep_run_record")


def changed_guard(argv: list[str]) -> str | None:
    """The line for an override that deletes or replaces one of ``GUARDS`` (``~KEY``): the
    folder checks are gone, and Hydra writes into a trained run's folder unchecked."""
    for arg in argv:
        key = override_key(arg)
        if key == "hydra.callbacks" or any(key == g or key.startswith(f"{g}.") for g in GUARDS):
            return (
                f"{arg} is not allowed: {key} checks the run's folder before Hydra writes "
                "there; add a callback of your own under another name"
            )
    return None


def group_not_named(argv: list[str]) -> str | None:
    """The line for a config group (``GROUPS``, a recipe, a search, Hydra's ``hydra/...``)
    given something other than one option's name: ``model=[vae,dcgan]`` merged two models'
    settings into one and was refused for a setting one of them has, ``experiment=[a,b]``
    trained the two recipes merged without a word, ``trainer=[1]`` and ``hparams_search=[1]``
    failed inside Hydra with words naming nothing ("argument of type 'int' is not
    iterable")."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    for arg in argv:
        group = override_key(arg)
        if group not in (*ONE_OPTION, "hydra") and not group.startswith("hydra/") or arg[:1] == "~":
            continue
        try:
            (override,) = OverridesParser.create().parse_overrides([arg])
            value = override.value()
        except Exception:  # not an override: Hydra's own line names it
            continue
        values = getattr(value, "list", []) if override.is_sweep_override() else [value]
        # null, and a glob() among a sweep's options, have lines of their own
        if any(isinstance(v, (list, dict, int, float)) for v in values):
            shown = arg.partition("=")[2]
            return (
                f"{group}={shown} is not allowed: {group} takes one option's name ({group}=NAME: "
                f"a file NAME.yaml of conf/{group}/ or of a folder on hydra.searchpath)"
            )
    return None
