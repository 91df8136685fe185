"""The notes above a sweep's table (``aegan.summarize``): what a reader of its figures must
know that the table cannot show, each in one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aegan.engine.run_metrics import figure_changing
from aegan.io.readback import read_plain_yaml
from aegan.sweeps.reader import override_column
from aegan.tables import cell, printable

# what sets the scale of a job's sample metrics (gen/*): the sample count, and the domain
# classifier, trained on the job's own training images (data.subset, data.val_size)
SAMPLE_PROTOCOL = ("gen/samples", "classifier/test_accuracy")
MAX_OPTUNA_PARAMS = 50  # shown on the "optuna best" line
OBJECTIVE = "val/best_objective"  # what a job returns to the sweeper (aegan.cli.hydra_job)


def sweep_notes(root: Path, rows: list[dict]) -> list[str]:
    """The note lines for the sweep in ``root`` whose jobs are ``rows``, in order."""
    notes = [_models_line(rows), _protocol_line(rows)]
    notes += [_naming(rows, *note) for note in JOB_NOTES]
    notes.append(_optuna_line(root / "optimization_results.yaml", rows))
    return [note for note in notes if note]


def _models_line(rows: list[dict]) -> str | None:
    """A note when the jobs train different models (``model=``, ``experiment=`` swept): the
    objective each returns is its own model's (MSE, nats, a GAN's FD), so the ranking by it
    mixes units."""
    for key in ("model", "experiment"):
        seen = sorted({str(row[key]) for row in rows if row.get(key) is not None})
        if len(seen) > 1:
            shown = ", ".join(map(cell, seen[:6])) + (", ..." if seen[6:] else "")
            return (
                f"note: the jobs train different models ({key}: {shown}); each job's {OBJECTIVE}"
                " is its own model's objective (an MSE, nats, a GAN's FD), so the order between "
                "models says nothing: compare jobs of one model"
            )
    return None


def _protocol_line(rows: list[dict]) -> str | None:
    """A note when the jobs' gen/* figures were measured on different scales."""
    differ = {}
    for key in SAMPLE_PROTOCOL:
        seen = sorted({row[key] for row in rows if isinstance(row.get(key), (int, float))})
        if len(seen) > 1:
            differ[key] = f"{cell(key)} {cell(seen[0])} to {cell(seen[-1])}"
    if not differ:
        return None
    return (
        "note: gen/* differ in scale between jobs (" + ", ".join(differ.values()) + "): FD "
        "and KID move with the sample count, and the classifier whose features they compare is "
        "trained on each job's own training images (data.subset); compare gen/* between jobs "
        "that agree in these"
    )


def _measured_earlier_weights(row: dict) -> bool:
    """Whether the job's evaluation measured other weights than training ended with
    (``aegan.evaluate checkpoint=best``)."""
    step, steps = row.get("eval/step"), row.get("train/steps")
    return isinstance(step, (int, float)) and isinstance(steps, (int, float)) and step != steps


# the notes that name jobs: which jobs (a test of a row), the words before and after them
JOB_NOTES = (
    (  # aegan.evaluate overrides=[...] (eval/overrides): not the model the job trained
        lambda row: figure_changing(row.get("eval/overrides")),
        "the figures of job",
        "are of the model with the overrides of a later evaluation (eval/overrides in "
        "summary.csv), not as it trained",
    ),
    (
        _measured_earlier_weights,
        "the figures of job",
        "are of the weights of an earlier step (eval/step in summary.csv) than training "
        "ended at (train/steps)",
    ),
    (  # the figures in its row are of the run its folder held before
        lambda row: row["status"] == "not run",
        "job",
        "did not run when last swept (why: the file its error names); its figures are of the "
        "run its folder held before",
    ),
)


def _naming(rows: list[dict], names: Callable[[dict], bool], before: str, after: str) -> str | None:
    """``note: BEFORE JOBS AFTER`` for the jobs of ``rows`` that ``names`` picks; None where
    there are none."""
    jobs = [row["job"] for row in rows if names(row)]
    return f"note: {before} {', '.join(map(cell, jobs))} {after}" if jobs else None


def _optuna_line(path: Path, rows: list[dict]) -> str | None:
    """The ``optuna best`` line from the Optuna sweeper's ``optimization_results.yaml`` (``name``,
    ``best_params``: key -> value, ``best_value``: a number), or one line saying why not. It
    names the job of ``rows`` that is that trial: a study kept in ``hydra.sweeper.storage``
    and gone on with in a new folder numbers its jobs from 0 again, and its best trial may be
    one of an earlier sweep's, in another folder."""
    if not path.exists():
        return None
    try:
        best = read_plain_yaml(path, max_depth=2)
    except ValueError as err:
        return f"optuna best: not shown: {printable(str(err))}"
    best = best if isinstance(best, dict) else {}
    value, params = best.get("best_value"), best.get("best_params")
    scalars = (str, int, float, bool, type(None))
    try:  # a bool is no value; an int beyond a float cannot be formatted as one
        number = None if isinstance(value, bool) else f"{value:.5g}"
    except (TypeError, ValueError, OverflowError):
        number = None
    if (
        number is None
        or not isinstance(params, dict)
        or not all(isinstance(k, str) and isinstance(v, scalars) for k, v in params.items())
    ):
        return (
            f"optuna best: not shown: {printable(str(path))} is not the sweeper's name, "
            "best_params (key: value) and best_value (a number)"
        )
    shown = [f"{cell(k)}={cell(v)}" for k, v in list(params.items())[:MAX_OPTUNA_PARAMS]]
    more = f" and {len(params) - len(shown)} more" if len(params) > len(shown) else ""
    jobs = [row["job"] for row in rows if row.get(OBJECTIVE) == value and all(
        row.get(override_column(k)) == v for k, v in params.items())]  # fmt: skip
    line = f"optuna best: {number}{f' (job {cell(jobs[0])})' if jobs else ''} with "
    line += ", ".join(shown) + more
    if not jobs:
        line += ("; no job in this folder: a trial of an earlier sweep of the study "
                 "(hydra.sweeper.storage), in another folder")  # fmt: skip
    return line
