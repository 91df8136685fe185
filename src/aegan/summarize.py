"""Summarise a Hydra sweep: ``python -m aegan.summarize MULTIRUN_DIR [--objective KEY] [--out DIR]``.

Reads each job's overrides (``.hydra/overrides.yaml``) and final metrics (``metrics.json``),
error (``failed.json``) or stop (``stopped.json``: Ctrl-C/SIGTERM, resumable), prints one
table sorted by the objective (lower is better, jobs without metrics last) and writes
``summary.csv`` and ``summary.md``. ``read_sweep`` is the reader that notebooks reuse:
``pandas.DataFrame(read_sweep(path))``.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import re
import sys
from pathlib import Path

import yaml

from aegan.files import atomic_write_bytes, read_json

DEFAULT_OBJECTIVE = "val/best_objective"
# Keys of runs written before a metric was renamed -> today's key.
RENAMED_METRICS = {"val/fd": "val/pixel_fd", "test/fd": "test/pixel_fd"}
# bookkeeping rather than results: left out of the table (still in summary.csv)
HIDDEN_PREFIXES = ("train/", "classifier/")
FIXED_COLUMNS = ("job", "status", "run_dir", "error", "overrides")
MAX_ERROR_CHARS = 80  # in the printed and markdown tables; summary.csv keeps the whole message


def _parse_value(text: str) -> int | float | str:
    """``"8"`` -> 8, ``"1e-3"`` -> 0.001, anything else stays text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _natural_key(path: Path) -> list[int | str]:
    """Job dirs in numeric order: 2 before 10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def _overrides(override_file: Path) -> list[str]:
    """The job's command-line overrides, as Hydra saved them: ``["model.latent_dim=8", ...]``.
    Read as plain YAML: nothing in the file is resolved or run."""
    try:
        overrides = yaml.safe_load(override_file.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ValueError(f"{override_file}: not readable ({str(err).splitlines()[0]})") from None
    if overrides is None:
        return []
    if not isinstance(overrides, list):
        raise ValueError(f"{override_file}: not a list of overrides")
    return [str(o) for o in overrides]


def _metrics(metrics_file: Path) -> dict:
    """A job's final metrics (old keys renamed); only numbers and text are kept."""
    metrics = read_json(metrics_file)
    out = {}
    for key, value in metrics.items():
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            out[RENAMED_METRICS.get(key, key)] = value
    return out


def _override_key(override: str) -> str:
    """``"+trainer.foo=1"`` -> ``"trainer.foo"``."""
    return override.partition("=")[0].lstrip("+~")


def read_sweep(path: str | Path) -> list[dict]:
    """One flat dict per job of the sweep in ``path``, in job order.

    Keys: ``job`` (the job's folder relative to ``path``), ``run_dir``, ``status`` (``ok``:
    metrics.json written; ``failed``: failed.json written; ``stopped``: stopped.json written,
    by Ctrl-C or SIGTERM after saving its last step; ``unfinished``: none of them, the job was
    killed, is still running or died before ``main``), ``error`` (``Type: message``, the
    stop's message, or ""), ``overrides`` (the job's command-line overrides as Hydra saved
    them), then each override by its key (``model.latent_dim``: 8) and each final metric (``test/mse``:
    0.015). Numbers are numbers; overrides that are not numbers are text.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    rows = []
    override_files = sorted(root.glob("**/.hydra/overrides.yaml"), key=_natural_key)
    for override_file in override_files:
        run_dir = override_file.parent.parent
        row: dict = {
            "job": str(run_dir.relative_to(root)),
            "status": "unfinished",
            "run_dir": str(run_dir),
            "error": "",
            "overrides": [],
        }
        metrics_file, failed_file = run_dir / "metrics.json", run_dir / "failed.json"
        stopped_file = run_dir / "stopped.json"
        try:
            row["overrides"] = _overrides(override_file)
            for override in row["overrides"]:
                row[_override_key(override)] = _parse_value(override.partition("=")[2])
            if stopped_file.is_file():  # first: a stop in the final evaluation leaves both
                stopped = read_json(stopped_file)
                row["status"] = "stopped"
                row["error"] = f"{stopped.get('phase', 'training')}: {stopped.get('message', '')}"
            elif metrics_file.is_file():
                row["status"] = "ok"
                row.update(_metrics(metrics_file))
            elif failed_file.is_file():
                failure = read_json(failed_file)
                row["status"] = "failed"
                row["error"] = f"{failure.get('type', 'Error')}: {failure.get('error', '')}"
        except ValueError as err:  # a file half-written or damaged: this job only
            row["status"], row["error"] = "broken", str(err)
        rows.append(row)
    return rows


def _sort_key(row: dict, objective: str) -> tuple[int, float, list[int | str]]:
    value = row.get(objective)
    if row["status"] != "ok":
        rank = 2
    elif isinstance(value, (int, float)) and math.isfinite(value):
        rank = 0
    else:  # finished without a finite objective (e.g. a GAN that diverged)
        rank = 1
    return rank, value if rank == 0 else math.inf, _natural_key(Path(row["job"]))


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.5g}"
    return "" if value is None else str(value)


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table padded to align in a terminal as well."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def summarize(
    path: str | Path, *, objective: str = DEFAULT_OBJECTIVE, out: str | Path | None = None
) -> str:
    """Write ``summary.csv`` and ``summary.md`` for the sweep in ``path``; return the text."""
    root = Path(path)
    rows = read_sweep(root)
    if not rows:
        raise FileNotFoundError(f"no job folders (with .hydra/overrides.yaml) under {root}")
    rows.sort(key=lambda row: _sort_key(row, objective))

    override_keys = []  # in the order they were given, over all jobs
    for row in rows:
        for key in map(_override_key, row["overrides"]):
            if key not in override_keys:
                override_keys.append(key)
    varying = [k for k in override_keys if len({repr(row.get(k)) for row in rows}) > 1]
    common = [f"{k}={_format(rows[0].get(k))}" for k in override_keys if k not in varying]
    metric_keys = sorted(
        {k for row in rows for k in row if k not in FIXED_COLUMNS and k not in override_keys}
    )
    shown_metrics = [objective] + [
        k for k in metric_keys if k != objective and not k.startswith(HIDDEN_PREFIXES)
    ]

    with_error = any(row["error"] for row in rows)
    header = ["job", "status", *varying, *shown_metrics] + (["error"] if with_error else [])
    table = []
    for row in rows:
        error = row["error"]
        if len(error) > MAX_ERROR_CHARS:
            error = error[: MAX_ERROR_CHARS - 3] + "..."
        status = row["status"] if row["status"] == "ok" else row["status"].upper()
        cells = [row["job"], status, *(_format(row.get(k)) for k in varying)]
        cells += [_format(row.get(k)) for k in shown_metrics]
        table.append(cells + ([error.replace("|", "/")] if with_error else []))

    statuses = ("ok", "failed", "stopped", "unfinished", "broken")
    counts = {s: sum(row["status"] == s for row in rows) for s in statuses}
    lines = [
        f"# Sweep summary: {root}",
        "",
        f"{len(rows)} jobs: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n),
        f"sorted by {objective} (lower is better)",
    ]
    if common:
        lines.append("common overrides: " + " ".join(common))
    optuna_file = root / "optimization_results.yaml"
    if optuna_file.is_file():
        try:
            best = yaml.safe_load(optuna_file.read_text()) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            best = {}
        if isinstance(best, dict) and isinstance(best.get("best_value"), (int, float)):
            lines.append(f"optuna best: {best['best_value']:.5g} with {best.get('best_params')}")
    text = "\n".join([*lines, "", _markdown_table(header, table), ""])

    out_dir = Path(out) if out is not None else root
    atomic_write_bytes(out_dir / "summary.md", text.encode())
    columns = ["job", "status", *override_keys, objective]
    columns += [k for k in metric_keys if k != objective] + ["error", "run_dir", "overrides"]
    handle = io.StringIO(newline="")
    writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:  # overrides as one command-line string, to rerun a job
        writer.writerow({**row, "overrides": " ".join(row["overrides"])})
    atomic_write_bytes(out_dir / "summary.csv", handle.getvalue().encode())
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m aegan.summarize",
        description="Table of a Hydra sweep's jobs: overrides, final metrics, failures.",
    )
    parser.add_argument("multirun_dir", type=Path, help="the sweep folder (hydra.sweep.dir)")
    parser.add_argument(
        "--objective",
        default=DEFAULT_OBJECTIVE,
        help=f"metric to sort by, lower is better (default: {DEFAULT_OBJECTIVE})",
    )
    parser.add_argument(
        "--out", type=Path, help="where summary.csv and summary.md go (default: MULTIRUN_DIR)"
    )
    args = parser.parse_args(argv)
    try:
        text = summarize(args.multirun_dir, objective=args.objective, out=args.out)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(text, end="")
    out_dir = args.out if args.out is not None else args.multirun_dir
    print(f"\nwritten: {out_dir / 'summary.csv'}, {out_dir / 'summary.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
