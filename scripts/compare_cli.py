"""compare.py's command line: each command's own parser, the checks of its options and
overrides, and ``refuse``, the one ``error:`` line (exit code 2) every mistake gets."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from aegan.cli.one_line import report_error
from aegan.cli.script_args import (
    ArgumentParser,
    check_set_keys,
    epochs_argument,
    file_argument,
    folder_argument,
    path_argument,
    seeds_argument,
)
from aegan.comparison_table import MODELS
from aegan.errors import ConfigError


def refuse(message: str) -> NoReturn:
    """A mistake on the command line: ``error: message`` as one line on stderr, exit code 2."""
    report_error(message)
    raise SystemExit(2)


def parsers(description: str) -> tuple[ArgumentParser, dict[str, ArgumentParser]]:
    """The script's parser (for --help) and each command's own, which takes only its options."""
    parser = ArgumentParser(prog="compare.py", description=description, allow_abbrev=False,
                    formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    commands = parser.add_subparsers(dest="command", metavar="{run,table,pictures}")
    run_parser, table_parser, pictures_parser = (
        commands.add_parser(name, help=text, allow_abbrev=False, prog=f"compare.py {name}")
        for name, text in (("run", "train each model's seeds"), ("table", "the table of the runs"),
                           ("pictures", "each model's seed-0 images"))
    )  # fmt: skip
    for command in (run_parser, table_parser, pictures_parser):
        command.add_argument("--models", default=",".join(MODELS), help="comma list of models")
        command.add_argument("--out", type=folder_argument, default=Path("logs/compare"),
                             help="the folder of the runs: OUT/MODEL/SEED")  # fmt: skip
    run_parser.add_argument("--epochs", type=epochs_argument, default=5)
    run_parser.add_argument("--seeds", type=seeds_argument, default="0,1,2")
    run_parser.add_argument("overrides", nargs="*", help="Hydra overrides for every job")
    table_parser.add_argument(
        "--speed", type=path_argument, help="aegan.bench lines, one per model"
    )
    pictures_parser.add_argument(
        "--image", type=file_argument, default=Path("docs/images/models.png")
    )
    return parser, {"run": run_parser, "table": table_parser, "pictures": pictures_parser}


def parse(argv: list[str], description: str) -> argparse.Namespace:
    """The command and its options; an option of another command, or one of none, is refused
    in one line naming it."""
    parser, commands = parsers(description)
    if argv and argv[0] in ("-h", "--help"):
        parser.parse_args(argv)  # prints the help, exits 0
    if not argv:
        refuse("a command is required: run, table or pictures")
    if argv[0] not in commands:
        first = argv[0].partition("=")[0]
        what = (
            f"unrecognized option {first}"
            if first.startswith("-")
            else f"invalid choice: {first!r}"
        )
        refuse(f"{what}: the command comes first: run, table or pictures")
    command = commands[argv[0]]
    for arg in argv[1:]:  # argparse would take --image=x.png of table for an override of run
        if arg == "--":
            break
        if arg.startswith("--") and arg.partition("=")[0] not in command._option_string_actions:
            refuse(f"unrecognized option {arg.partition('=')[0]} for {argv[0]} "
                   f"(see {command.prog} --help)")  # fmt: skip
    args, extra = command.parse_known_intermixed_args(argv[1:])
    if extra and argv[0] == "run":  # -m: run makes each model's sweep itself
        refuse(f"unrecognized option {extra[0]} for run (see {command.prog} --help)")
    if extra:  # run's overrides are its positional arguments: the others take none
        refuse(f"{' '.join(extra)}: overrides are for run only, {argv[0]} takes options only")
    args.command = argv[0]
    return args


def check_folder(out: Path, *, may_create: bool) -> None:
    """``--out`` is there (``run``: or can become a folder, which ``folder_argument`` checked)."""
    if not may_create and not out.is_dir():
        refuse(f"--out {out}: no such folder; give the folder that run wrote")


# the keys run sets for every job: the option that sets them, or the value every job gets
SET_BY_RUN = {
    "seed": "--seeds", "hydra.mode": "--seeds", "hydra/sweeper": "--seeds",
    "hydra.sweeper.params": "--seeds", "hparams_search": "--seeds", "trainer.epochs": "--epochs",
    "hydra.sweep.dir": "--out", "hydra.sweep.subdir": "--out", "hydra.run.dir": "--out",
    "experiment": "--models", "model": "--models", "trainer.resume": "=auto",
    "logger.projector_samples": "=0",
}  # fmt: skip


def check_overrides(overrides: list[str]) -> None:
    """Refuse an override of a key run sets itself (``check_set_keys``): the last one given
    won, a job trained another seed or budget in the folder of its seed, and run said only
    "exited with code 0"."""
    try:
        check_set_keys(overrides, SET_BY_RUN, "compare.py run")
    except ConfigError as err:
        refuse(str(err))
