"""Summarise a Hydra sweep: ``python -m aegan.summarize MULTIRUN_DIR [--objective KEY] [--out DIR]``.

Reads each job's overrides (``.hydra/overrides.yaml``) and final metrics (``metrics.json``),
error (``failed.json``) or stop (``stopped.json``: Ctrl-C/SIGTERM, resumable), prints one
table sorted by the objective (best first: lowest, or highest for a figure where higher is
better, ``--direction`` to choose; jobs without metrics last) and writes
``summary.csv`` and ``summary.md``. The jobs are read by ``aegan.sweeps.reader.read_sweep``,
which notebooks reuse: ``pandas.DataFrame(read_sweep(path))``.
"""

from __future__ import annotations

# first, before the seconds torch takes: a stop signal while it imports is one line
from aegan.signals.starting_signals import work_began

# isort: split
import argparse
import csv
import difflib
import io
import math
import sys
from pathlib import Path

from aegan.cli.script_args import print_out
from aegan.engine.run_record import trained_run_holding
from aegan.errors import ConfigError
from aegan.io.files import atomic_write_bytes, check_folder, given_path
from aegan.sweeps.notes import sweep_notes
from aegan.sweeps.reader import FIXED_COLUMNS, natural_key, override_column, read_sweep
from aegan.sweeps.summary_places import summary_folder
from aegan.tables import cell, markdown_table, printable

DEFAULT_OBJECTIVE = "val/best_objective"
# bookkeeping rather than results: left out of the table (still in summary.csv)
HIDDEN_PREFIXES = ("train/", "eval/", "classifier/")
OUT_FOLDER = "a folder for summary.csv and summary.md"


# the figures where higher is better, by the last part of their name (test/psnr,
# probe/accuracy, gen/recall, inception/is); every other figure: lower is better, as the
# objective a job returns (val/best_objective), a distance, an error or a loss
HIGHER_IS_BETTER = ("psnr", "ssim", "accuracy", "precision", "recall", "density", "coverage",
                    "is", "class_entropy", "classes_covered", "active_units")  # fmt: skip
DIRECTIONS = ("minimize", "maximize")


def direction_of(objective: str) -> str:
    """``maximize`` for a figure where higher is better (``HIGHER_IS_BETTER``), else
    ``minimize``: sorted lowest first, ``--objective test/psnr`` put the worst job first."""
    name = objective.rpartition("/")[2]
    higher = any(name == kind or name.endswith(f"_{kind}") for kind in HIGHER_IS_BETTER)
    return "maximize" if higher else "minimize"


def _sort_key(row: dict, objective: str, direction: str) -> tuple[int, float, list[int | str]]:
    value = row.get(objective)
    if row["status"] != "ok":
        rank = 2
    elif isinstance(value, (int, float)) and math.isfinite(value):
        rank = 0
    else:  # finished without a finite objective (e.g. a GAN that diverged)
        rank = 1
    if rank == 0 and direction == "maximize":
        value = -value
    return rank, value if rank == 0 else math.inf, natural_key(Path(row["job"]))


def _check_objective(objective: str, rows: list[dict]) -> None:
    """A mistyped ``--objective`` would sort by nothing and add an empty column without a
    word. (The default is every run's; a sweep of damaged files is still summarised.) No
    name at all (blank, a line break) is refused even where no job has figures."""
    if not objective.strip() or not objective.isprintable():
        raise ConfigError(f"--objective={objective!r:.80} is not allowed: it must be a "
                          f"metric's name, such as {DEFAULT_OBJECTIVE}")  # fmt: skip
    names = sorted({k for row in rows if row["status"] == "ok" for k, v in row.items()
                    if "/" in k and isinstance(v, (int, float))})  # fmt: skip
    if names and objective not in names and objective != DEFAULT_OBJECTIVE:
        close = difflib.get_close_matches(objective, names, n=1)
        raise ConfigError(
            f"--objective {printable(objective)} is not a metric of the sweep's jobs, which "
            f"have: {', '.join(map(printable, names))}"
            + (f"; did you mean {printable(close[0])}?" if close else "")
        )


def summarize(
    path: str | Path,
    *,
    objective: str = DEFAULT_OBJECTIVE,
    out: str | Path | None = None,
    direction: str | None = None,
) -> str:
    """Write ``summary.csv`` and ``summary.md`` for the sweep in ``path`` (``summary_folder``
    says where); return the text. The jobs sorted by ``objective``, best first: lowest
    first where ``direction`` is ``minimize``; default: the figure's own (``direction_of``)."""
    root = given_path("path", path, "a sweep's folder")
    out = None if out is None else given_path("out", out, OUT_FOLDER)
    if out is not None:  # a file, FIFO or link to nothing there: said before the walk
        check_folder("out", str(out))
    rows = read_sweep(root)
    if not rows:
        raise FileNotFoundError(f"no job folders (with .hydra/overrides.yaml) under {root}")
    _check_objective(objective, rows)
    if direction is None:
        direction = direction_of(objective)
    elif direction not in DIRECTIONS:
        raise ConfigError(
            f"direction={direction!r:.80} is not allowed: it must be minimize or maximize"
        )
    rows.sort(key=lambda row: _sort_key(row, objective, direction))

    # each override key (in the order given, over all jobs) -> its values; one pass over the
    # overrides (a list or a pass per key was quadratic in them)
    values: dict[str, set[str]] = {}
    jobs_with: dict[str, int] = {}
    for row in rows:
        for key in dict.fromkeys(map(override_column, row["overrides"])):
            values.setdefault(key, set()).add(repr(row[key]))
            jobs_with[key] = jobs_with.get(key, 0) + 1
    override_keys = list(values)
    varies = {k: len(values[k]) > 1 or jobs_with[k] < len(rows) for k in override_keys}
    varying = [k for k in override_keys if varies[k]]
    common = [f"{cell(k)}={cell(rows[0][k])}" for k in override_keys if not varies[k]]
    metric_keys = sorted(
        {k for row in rows for k in row if k not in FIXED_COLUMNS and k not in values}
    )
    shown_metrics = [objective] + [
        k for k in metric_keys if k != objective and not k.startswith(HIDDEN_PREFIXES)
    ]

    with_error = any(row["error"] for row in rows)
    header = ["job", "status", *varying, *shown_metrics] + (["error"] if with_error else [])
    table = []
    for row in rows:
        status = row["status"] if row["status"] == "ok" else row["status"].upper()
        cells = [row["job"], status, *(row.get(k) for k in varying)]
        cells += [row.get(k) for k in shown_metrics] + ([row["error"]] if with_error else [])
        table.append([cell(c) for c in cells])

    statuses = ("ok", "failed", "stopped", "unfinished", "broken", "not run", "not started")
    counts = {s: sum(row["status"] == s for row in rows) for s in statuses}
    # Hydra writes multirun.yaml in a grid's folder, the Optuna sweeper its results; a
    # folder of single runs has neither
    swept = any((root / name).is_file() for name in ("multirun.yaml", "optimization_results.yaml"))
    title = "Sweep summary" if swept else "Summary of runs"
    lines = [
        f"# {title}: {printable(str(root))}",
        "",
        f"{len(rows)} {'job' if len(rows) == 1 else 'jobs'}: "
        + ", ".join(f"{n} {s}" for s, n in counts.items() if n),
        f"sorted by {printable(objective)} "
        f"({'lower' if direction == 'minimize' else 'higher'} is better)",
    ]
    if common:
        lines.append("common overrides: " + " ".join(common))
    lines += sweep_notes(root, rows)
    text = "\n".join([*lines, "", markdown_table([cell(h) for h in header], table), ""])

    out_dir = summary_folder(root, out)
    if out_dir is None:  # a trained run's folder: shown, not written
        return text
    columns = ["job", "status", *override_keys, objective]
    columns += [k for k in metric_keys if k != objective] + ["error", "run_dir", "overrides"]
    handle = io.StringIO(newline="")
    writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:  # overrides as one command-line string, to rerun a job
        writer.writerow({**row, "overrides": " ".join(row["overrides"])})
    # a folder name that is not UTF-8 (surrogates in Python) as \udcff: the csv stays UTF-8
    csv_bytes = handle.getvalue().encode(errors="backslashreplace")
    work_began()  # a stop from here on: the files may be this summary's
    try:
        atomic_write_bytes(out_dir / "summary.md", text.encode())
        atomic_write_bytes(out_dir / "summary.csv", csv_bytes)
    except (OSError, ValueError) as err:  # ValueError: a NUL in the path
        # the OS's message names a temp file, this one the folder
        reason = getattr(err, "strerror", None) or err
        raise OSError(
            f"{out_dir}: summary.csv and summary.md cannot be written there ({reason})"
        ) from None
    return text


class _UsageError(Exception):
    """A command-line mistake; argparse's own report is three lines."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        raise _UsageError(message)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="python -m aegan.summarize",
        description="Table of a Hydra sweep's jobs: overrides, final metrics, failures.",
    )
    # text, not Path: Path("") is ".", and an empty name would summarise the current folder
    parser.add_argument("multirun_dir", help="the sweep folder (hydra.sweep.dir)")
    parser.add_argument(
        "--objective",
        default=DEFAULT_OBJECTIVE,
        help=f"metric to sort by, best first (default: {DEFAULT_OBJECTIVE})",
    )
    parser.add_argument(
        "--direction",
        choices=DIRECTIONS,
        help="minimize: lowest first; maximize: highest first (default: the metric's own; "
        "higher is better for PSNR, SSIM, accuracies, precision, recall, ...)",
    )
    parser.add_argument("--out", help="where summary.csv and summary.md go (default: MULTIRUN_DIR)")
    try:
        args = parser.parse_args(argv)
    except _UsageError as err:
        print(f"error: {err} (python -m aegan.summarize --help says more)", file=sys.stderr)
        return 2
    try:  # named as typed here; summarize() names its own arguments
        root = given_path("MULTIRUN_DIR", args.multirun_dir, "a sweep's folder")
        out = None if args.out is None else given_path("--out", args.out, OUT_FOLDER)
        if out is not None:
            check_folder("--out", str(out))
        text = summarize(root, objective=args.objective, out=out, direction=args.direction)
    except (OSError, ConfigError) as err:  # no sweep there, a metric of none of its jobs, or
        # the summary cannot be written where asked
        print(f"error: {printable(str(err))}", file=sys.stderr)
        return 2
    print_out(text, end="")
    out_dir = summary_folder(root, out)
    if out_dir is None:
        kind = "a trained run's" if trained_run_holding(root.absolute()) else "a run's"
        print_out(f"\nnot written: {root} is {kind} folder, which only its own "
                  "run writes; to keep the summary, name a folder with --out DIR")  # fmt: skip
    else:
        print_out(f"\nwritten: {out_dir / 'summary.csv'}, {out_dir / 'summary.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
