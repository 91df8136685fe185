"""Read a Hydra sweep's jobs from their folders: ``read_sweep(path)``, one flat dict per job
(overrides, final metrics, status), for ``aegan.summarize``'s table, the comparison table and
notebooks (``pandas.DataFrame(read_sweep(path))``). Every file is read strictly: nothing in it
is resolved, run or expanded, and a damaged one marks its own job only."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
from typing import Any

from aegan.engine.checkpoint_contents import CONTROL
from aegan.engine.run_metrics import (
    EVALUATED_WITH,
    EVALUATING,
    TRAINING,
    check_own_metrics,
    is_figure,
    shown_json,
)
from aegan.errors import FolderNotFoundError
from aegan.io.files import given_path, natural_key
from aegan.io.path_kinds import path_kind, shown
from aegan.io.readback import read_json
from aegan.settings.overrides import override_key
from aegan.sweeps.job_overrides import MAX_OVERRIDES, read_overrides
from aegan.sweeps.not_run import METRICS_THEN, mark_not_run, result_hash
from aegan.sweeps.planned import NOT_STARTED, earlier_sweeps_job, planned_jobs
from aegan.sweeps.walk import job_folders

log = logging.getLogger("aegan.sweep")

# Keys of runs written before a metric was renamed -> today's key.
RENAMED_METRICS = {"val/fd": "val/pixel_fd", "test/fd": "test/pixel_fd"}
FIXED_COLUMNS = ("job", "status", "run_dir", "error", "overrides")


def _not_started(root: Path, rows: list[dict], planned: dict[str, list[str]]) -> list[dict]:
    """Rows for the ``planned`` jobs (``jobs.json``) without a folder of their own."""
    seen, rows_out = {row["job"] for row in rows}, []
    for folder, overrides in planned.items():
        if folder not in seen:
            row = _planned_row(root, folder, overrides)
            rows_out.append(_not_its_folder(root, row) or _with_overrides(row))
    return rows_out


def _planned_row(root: Path, folder: str, overrides: list[str], error: str = NOT_STARTED) -> dict:
    """The row of a planned job that has not started in ``root/folder``."""
    return {"job": folder, "status": "not started", "run_dir": str(root / folder),
            "error": error, "overrides": overrides[:MAX_OVERRIDES]}  # fmt: skip


def _not_a_sweep_folder(root: Path) -> str | None:
    """Why ``root`` is no folder to read (a FIFO, a link to nothing: ``path_kind``), or None."""
    try:
        if root.is_dir():
            return None
    except OSError as err:  # a name too long: pathlib's errno line would not name the setting
        return f"cannot be looked up ({err.strerror})"
    kind = path_kind(root) or ("a file" if os.path.lexists(root) else None)
    return "does not exist" if kind is None else f"is {kind}, not a folder"


def _not_its_folder(root: Path, row: dict) -> dict | None:
    """``row`` marked broken where something else is at its job's folder (``_not_a_folder``):
    damage, not a job to run nor one to read; None where it is a folder of the sweep's, or
    nothing."""
    in_place = _not_a_folder(root, row["job"])
    if in_place is None:
        return None
    row.update(status="broken", error=f"{row['job']} is {in_place}, not its job's folder")
    return _with_overrides(row)


def _not_a_folder(root: Path, job: str) -> str | None:
    """What is at ``root/job`` where a job's folder goes, if it is none of the sweep's own:
    a link, or a folder behind one (another run's, whose figures would read as this job's),
    or a file, a FIFO, a socket... (``path_kind``), or one in place of a folder above it;
    None if nothing or a folder is there."""
    path = root
    for part in Path(job).parts:
        path = path / part
        if path.is_symlink():
            target = f"{os.readlink(path)!r:.200}"
            if path == root / job:
                return f"a link to {target}{_leads_nowhere(path)}"
            return f"behind the link {path.relative_to(root)} -> {target}"
        if os.path.lexists(path) and not path.is_dir():
            kind = path_kind(path, follow_links=False) or "a file"
            return (
                kind if path == root / job else f"below {path.relative_to(root)}, which is {kind}"
            )
    return None


def _leads_nowhere(link: Path) -> str:
    """Why ``link`` cannot be followed, in brackets (``" (a loop of links)"``), or ""."""
    try:
        link.stat()
    except OSError as err:
        why = {errno.ELOOP: "a loop of links", errno.ENOENT: "leading nowhere"}
        return f" ({why.get(err.errno, err.strerror)})"
    return ""


def _parse_value(text: str) -> int | float | str:
    """``"8"`` -> 8, ``"1e-3"`` -> 0.001, anything else stays text (so does a number beyond a
    float: the table compares and formats numbers as floats)."""
    if len(text) > 400:  # no number that fits a float; int() is slow on a huge digit run
        return text
    for kind in (int, float):
        try:
            value = kind(text)
            float(value)
            return value
        except (ValueError, OverflowError):
            pass
    return text


def is_grid(sweeper: Any) -> bool:
    """Whether ``sweeper`` (``hydra.sweeper``'s config) is Hydra's BasicSweeper, which runs
    a grid of jobs known beforehand, not a search (Optuna's) that draws each trial's values."""
    return str(sweeper.get("_target_", "")).endswith(".BasicSweeper")


def _metrics(metrics_file: Path) -> dict:
    """A job's final metrics (old keys renamed). A value that is no figure (``is_figure``),
    or a key no metric has, is damage (``ValueError``): the job is broken, not ``ok``."""
    out = {}
    check_own_metrics(metrics_file)
    for key, value in read_json(metrics_file).items():
        if CONTROL.search(key) or not key.strip():  # a line break splits summary.csv's rows,
            name = shown(key) if key.strip() else repr(key)  # a blank is a column of no name
            raise ValueError(f"{metrics_file.name}: {name:.80} is no metric's name")
        if not is_figure(key, value):
            what = "text" if key == EVALUATED_WITH else "a figure"
            raise ValueError(f"{metrics_file.name}: {key:.80} is {shown_json(value)}, not {what}")
        out[RENAMED_METRICS.get(key, key)] = value
    return out


def override_column(override: str) -> str:
    """``"+trainer.foo=1"`` -> ``"trainer.foo"``; a key that names one of the row's own
    columns gets ``override:`` in front (``job=x`` -> ``override:job``)."""
    key = override_key(override)
    return f"override:{key}" if key in FIXED_COLUMNS else key


def read_sweep(path: str | Path) -> list[dict]:
    """One flat dict per job of the sweep in ``path``, in job order.

    Keys: ``job`` (the job's folder relative to ``path``), ``run_dir``, ``status`` (``ok``:
    metrics.json written, no final evaluation under way or killed; ``failed``: failed.json
    written; ``stopped``: stopped.json written, by Ctrl-C or SIGTERM after saving its last
    step; ``unfinished``: none of them, or an ``evaluating.json`` beside metrics.json: the
    job was killed, is still running or died before ``main``; ``not run``: a sweep passed it
    over since its results, its record in ``.not_run/``; ``not started``: in ``jobs.json``,
    without a folder, or with one that holds an earlier sweep's job, other overrides than
    the grid's for it), ``error`` (``Type: message``, the
    stop's message, or ""), ``overrides`` (the job's command-line overrides as Hydra saved
    them), then each override by its key (``model.latent_dim``: 8) and each final metric
    (``test/mse``: 0.015). Numbers are numbers; overrides that are not numbers are text.
    What a job's files hold never replaces a key the row already has: an override named like
    one of the row's own keys is ``override:KEY`` (``override:status``), a metric named like
    one of those or like an override is ``metric:KEY``.
    """
    root = given_path("path", path, "a sweep's folder")
    if (what := _not_a_sweep_folder(root)) is not None:
        raise FolderNotFoundError(f"{root} {what}: a sweep's folder holds one folder per job")
    rows, links = [], []
    for run_dir in job_folders(root):
        override_file = run_dir / ".hydra" / "overrides.yaml"
        row: dict = {
            "job": str(run_dir.relative_to(root)),
            "status": "unfinished",
            "run_dir": str(run_dir),
            "error": "",
            "overrides": [],
        }
        if _not_its_folder(root, row):  # a link: its overrides from jobs.json, if there
            links.append(row)
            continue
        results = [run_dir / f"{name}.json" for name in ("stopped", "failed", "metrics")]
        stopped_file, failed_file, metrics_file = results
        try:  # a link is not the job's own record: another run's, a loop, one to nothing
            for own in (override_file.parent, override_file, *results):
                check_own_metrics(own)
            row["overrides"] = read_overrides(override_file)
            _with_overrides(row)
            # exists(), not is_file(): a folder or FIFO in a result file's place is damage
            if stopped_file.exists():  # first: a stop in the final evaluation leaves both
                phase, said = _texts(read_json(stopped_file), stopped_file.name,
                                     phase="training", message="")  # fmt: skip
                row["status"], row["error"] = "stopped", f"{phase}: {said}"
                if phase == "evaluation" and metrics_file.exists():
                    _with_metrics(row, metrics_file)  # training's, written before it
            elif metrics_file.exists() and not _failed_since(failed_file, metrics_file):
                row["status"] = "ok"
                if (run_dir / TRAINING).exists():  # an earlier step's figures
                    row["status"], row["error"] = "unfinished", _continued(run_dir)
                elif (run_dir / EVALUATING).exists():  # training's figures, the rest never came
                    row["status"] = "unfinished"
                    row["error"] = (
                        "killed in its final evaluation (training's figures are in "
                        "metrics.json; python -m aegan.evaluate measures the rest)"
                    )
                _with_metrics(row, metrics_file)
            elif failed_file.exists():  # also a job refused in a folder holding its results
                kind, said = _texts(read_json(failed_file), failed_file.name,
                                    type="Error", error="")  # fmt: skip
                row["status"], row["error"] = "failed", f"{kind}: {said}"
        except ValueError as err:  # a file half-written or damaged: this job only
            # the file by its name in the job's folder: the row names the folder, and the
            # reason, not the path, is what the table's short error column should show
            error = str(err).removeprefix(f"{run_dir}{os.sep}")
            row["status"], row["error"] = "broken", error
        rows.append(row)
    mark_not_run(root, rows)
    try:
        planned = planned_jobs(root)
    except ValueError as err:  # the plan is no result: the jobs' rows stand
        log.warning("%s; the jobs that never started are not listed", err)
        planned = {}
    rows = [_earlier_sweeps(root, row, planned) for row in rows] + _not_started(root, rows, planned)
    listed = {row["job"] for row in rows}
    rows += [row for row in links if row["job"] not in listed]
    return sorted(rows, key=lambda row: natural_key(Path(row["job"])))


def _earlier_sweeps(root: Path, row: dict, planned: dict[str, list[str]]) -> dict:
    """``row`` as a job not started where its folder holds an earlier sweep's job, its
    figures of other settings than the grid's (``earlier_sweeps_job``); else ``row``."""
    if row["status"] in ("broken", "not run") or not earlier_sweeps_job(row, planned):
        return row
    held = " ".join(row["overrides"])[:200]
    said = f"{NOT_STARTED}; its folder holds an earlier sweep's job ({held})"
    return _with_overrides(_planned_row(root, row["job"], planned[row["job"]], said))


def _continued(run_dir: Path) -> str:
    """What a job continued in its folder (``TRAINING`` there) is: still training, or
    killed; its metrics.json holds the figures of an earlier step (``ValueError`` for a
    damaged marker: the job is broken)."""
    step = read_json(run_dir / TRAINING).get("step")
    if not isinstance(step, (int, float)) or isinstance(step, bool):
        raise ValueError(f"{TRAINING}: step is {shown_json(step)}, not a number")
    return (
        f"continued from step {step:.0f} and still training, or killed (the figures shown "
        "are those it had before; trainer.resume=auto continues it)"
    )


def _texts(record: dict, name: str, **defaults: str) -> list[str]:
    """``record``'s fields (``defaults`` where absent) as text; ``ValueError`` naming the
    file ``name`` and a field that is none (a hand-edited ``"type": {"a": 1}``)."""
    values = [record.get(key, default) for key, default in defaults.items()]
    for key, value in zip(defaults, values, strict=True):
        if not isinstance(value, str):
            raise ValueError(f"{name}: {key} is {shown_json(value)}, not text")
    return values


def _with_metrics(row: dict, metrics_file: Path) -> None:
    """``row`` with each figure of ``metrics_file``; one named like a key of the row already
    as ``metric:KEY``."""
    metrics = _metrics(metrics_file)
    row.update({(f"metric:{k}" if k in row else k): v for k, v in metrics.items()})


def _with_overrides(row: dict) -> dict:
    """``row`` with each of its ``overrides`` by its key (a key given twice: the last, as
    in Hydra), its value a number where it is one."""
    for override in row["overrides"]:
        row[override_column(override)] = _parse_value(override.partition("=")[2])
    return row


def _failed_since(failed_file: Path, metrics_file: Path) -> bool:
    """``failed_file`` exists and was written after ``metrics_file``: a job that failed
    after its results were written (a sweep continued with settings its jobs refused, a
    final evaluation that raised) failed this time. Told by the hash of metrics.json that
    failed.json holds, not by times, which a copied folder or a coarse clock gives anew;
    one without it (or damaged: read as the job's error, or not at all) by times."""
    if not os.path.lexists(failed_file):
        return False
    try:
        then = read_json(failed_file).get(METRICS_THEN, False)
    except ValueError:
        then = False
    if then is not False:
        return then == result_hash(metrics_file)
    try:
        return failed_file.stat().st_mtime_ns > metrics_file.stat().st_mtime_ns
    except OSError:
        return False
