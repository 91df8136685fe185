"""The command lines of scripts/: a parser whose every mistake is one ``error:`` line (exit
code 2), and argparse ``type``s that refuse a bad value by naming it and what is allowed,
before anything runs, where it would have failed in a traceback once the runs had trained."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from aegan.cli.one_line import report_error
from aegan.engine.run_record import trained_run_holding
from aegan.errors import ConfigError
from aegan.io.files import check_folder, given_path
from aegan.io.path_kinds import leads_to, path_kind


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose mistakes are one line (``aegan.cli.one_line.report_error``: ``error: ...``,
    a huge value cut) and exit code 2, in place of the usage and a line; an option that takes
    one value, given twice (``--seeds 0 --seeds 1``), is one of them: argparse kept the last
    without a word."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", None, _StoreOnce)
        self.register("action", "store", _StoreOnce)
        self.given: dict[str, str] = {}  # dest -> the option and value it was given
        self.typed: list[str] = []  # the words of the option being taken, as typed

    def parse_known_args(self, *args: object, **kwargs: object) -> tuple:
        self.given = {}  # a parser is reused (a test's, a subcommand's)
        return super().parse_known_args(*args, **kwargs)

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> object:
        self.typed = list(arg_strings)  # argparse gives its action the values converted
        return super()._get_values(action, arg_strings)

    def error(self, message: str) -> NoReturn:
        report_error(f"{message} (see {self.prog} --help)")
        raise SystemExit(2)


class _StoreOnce(argparse._StoreAction):
    """argparse's ``store``, refusing an option given a second time."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:  # fmt: skip
        given = getattr(parser, "given", None)
        typed = " ".join([option_string or "", *getattr(parser, "typed", [])])
        if option_string and given is not None:
            if self.dest in given:
                parser.error(
                    f"argument {'/'.join(self.option_strings)}: given twice ({given[self.dest]}, "
                    f"then {typed}), and only one is taken; give it once"
                )
            given[self.dest] = typed
        super().__call__(parser, namespace, values, option_string)


def print_out(text: str, end: str = "\n") -> None:
    """``print(text, end=end)`` to stdout, where a reader that has gone (``| head``) ends
    the output, not the command: it was a ``BrokenPipeError`` traceback after the files
    were written."""
    try:
        print(text, end=end, flush=True)
    except BrokenPipeError:  # what is left to print goes nowhere, as the reader wished
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _refused(err: ConfigError) -> argparse.ArgumentTypeError:
    """``aegan.io.files``'s ``path=VALUE is not allowed: ...`` as argparse's own, which is
    printed after the option's name."""
    return argparse.ArgumentTypeError(str(err).removeprefix("path="))


def path_argument(text: str) -> Path:
    """An argparse ``type`` for a path: empty or blank text (an unset shell variable) is
    refused, where ``Path("")`` would be the current folder and ``open("")`` fail at the end;
    so is a control character (a pasted newline), which splits every line naming the path."""
    try:
        return given_path("path", text, "a path")
    except ConfigError as err:
        raise _refused(err) from None


def folder_argument(text: str) -> Path:
    """``path_argument`` for a folder a script writes into: refused where a file (or a FIFO)
    is at it or above it, or a name is too long, before the first run, not by its sweep."""
    path = path_argument(text)
    try:
        check_folder("path", text)
    except ConfigError as err:
        raise _refused(err) from None
    return path


def file_argument(text: str) -> Path:
    """``path_argument`` for a file a script writes: its folder can be one (as for
    ``folder_argument``), and what is at it already is a regular file: a folder there made
    the last write fail after every run, and a FIFO blocked it for good. Nor is it in a
    trained run's folder, or a link into one, where it replaced a GAN's sample grid or was
    appended to the run's metrics.json."""
    path = path_argument(text)
    try:
        check_folder("path", str(path.parent))
    except ConfigError as err:
        reason = str(err).partition(" is not allowed: ")[2]
        raise argparse.ArgumentTypeError(
            f"{text} is not allowed: its folder cannot be {path.parent} ({reason})"
        ) from None
    kind = path_kind(path)
    if kind is not None:
        raise argparse.ArgumentTypeError(f"{text} is not allowed: it is {kind}; name a file")
    where = leads_to(path)  # RUN/../RUN/x is in RUN too, and so is a link into RUN
    run = trained_run_holding(where.parent)
    if run is not None:
        verb = "is" if where.parent == leads_to(path.parent) else "leads"
        raise argparse.ArgumentTypeError(
            f"{text} is not allowed: it {verb} inside the trained run {run}, which only its "
            "own run writes; name a file outside it"
        )
    return path


def count_argument(text: str) -> int:
    """An argparse ``type`` for a count of repetitions: an integer in [1, 1000000]."""
    try:
        count = int(text)
    except ValueError:  # not a number, or one of more than 4300 digits
        count = 0
    if not 1 <= count <= 10**6:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not allowed: it must be an integer in [1, 1000000]"
        )
    return count


def epochs_argument(text: str) -> int:
    """An argparse ``type`` for a script's epochs per run: what ``trainer.epochs`` takes,
    checked before the first run (0 was taken for "the default", -3 failed every job)."""
    return count_argument(text)


def seeds_argument(text: str) -> list[int]:
    """An argparse ``type`` for a script's seeds, one job each: a comma list of distinct
    integers in [0, 2**63), each written as its job's folder is named (0, not 00); a seed
    twice would be two jobs of one run."""
    seeds = text.split(",")
    fine = all(re.fullmatch(r"0|[1-9]\d{0,18}", s) and int(s) < 2**63 for s in seeds)
    if not fine or len(set(seeds)) < len(seeds):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not allowed: it must be a comma list of distinct integers in "
            "[0, 2**63), e.g. 0,1,2"
        )
    return [int(s) for s in seeds]


def names_argument(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    """An argparse ``type`` for a comma list of distinct names from ``allowed``."""

    def names(text: str) -> list[str]:
        given = text.split(",")
        if not set(given) <= set(allowed) or len(set(given)) < len(given):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not allowed: it must be a comma list of distinct names from "
                f"{', '.join(allowed)}"
            )
        return given

    return names


def check_set_keys(overrides: list[str], set_by: dict[str, str], script: str) -> None:
    """Refuse an override of a key ``script`` sets for every job itself, and a sweep: the
    last value given won without a word, or a job trained in the folder of another.
    ``set_by``: each key -> the option that sets it (``--seeds``), the value every job gets
    (``=auto``), or how it is set (``for the paths it compares``). ``ConfigError``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for arg in overrides:
        try:
            (override,) = parser.parse_overrides([arg])
        except Exception:  # not an override: aegan.train's line names it
            continue
        key = override.key_or_group
        if override.is_sweep_override():  # two jobs of one seed: one folder
            raise ConfigError(f"{arg} is not allowed: {script} sweeps --seeds only; give one "
                              "value, and another --out for each other")  # fmt: skip
        for given, option in set_by.items():
            above = key.startswith("hydra") and given.startswith(f"{key}.")  # hydra.sweep={..}
            below = given.startswith("hydra.") and key.startswith(f"{given}.")  # params.seed
            if key == given or above or below:
                how = (
                    f"{given}{option} for every job" if option.startswith("=")
                    else f"{given} from {option}; give {option} instead" if option.startswith("--")
                    else f"{given} {option}"
                )  # fmt: skip
                raise ConfigError(f"{arg} is not allowed: {script} sets {how}")
