"""A sweep's records of the jobs it passed over (``SWEEP/.not_run/N.json``): a job refused
in a folder holding an earlier run's results writes nothing there, so its record says so.

A record holds what the folder's result files were when the job was passed over (a hash of
each); the job is ``not run`` while they are still so. Their times are not compared: a
copied folder (``cp -r``, rsync) or a coarse clock gives every file the same or a new one.
A run that takes the folder later removes the records naming it (``forget_not_run``), so
one that wrote the same figures again is not listed as passed over either."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from urllib.parse import quote

from aegan.engine.run_metrics import EVALUATING
from aegan.io.files import natural_key
from aegan.io.readback import MAX_RESULT_BYTES, read_json, read_limited

log = logging.getLogger("aegan.sweep")

NOT_RUN = ".not_run"
RESULT_FILES = ("metrics.json", "failed.json", "stopped.json", EVALUATING)
MAX_RECORDS = 10_000
MAX_NAME = 200  # characters of a record's file name, under the 255 most file systems take
METRICS_THEN = "metrics_sha256"  # failed.json's: metrics.json as the job failed, or None


def results_found(job_dir: Path) -> dict[str, str | None]:
    """``{name: sha256 of its bytes}`` of ``job_dir``'s result files; None for one absent,
    ``"unreadable"`` for one that is no regular file within its size."""
    return {name: result_hash(job_dir / name) for name in RESULT_FILES}


def result_hash(path: Path) -> str | None:
    """The sha256 of the result file ``path``; None where there is none, ``"unreadable"``
    where it is no regular file within its size (``read_limited`` never waits on one)."""
    try:
        return hashlib.sha256(read_limited(path, MAX_RESULT_BYTES)).hexdigest()
    except OSError:
        return "unreadable" if os.path.lexists(path) else None


def record_name(job: str) -> str:
    """The file of the record of job folder ``job`` (relative to the sweep's): named by the
    folder, not the job's number (``3.json``, ``lr0.01.json``, ``a%2Fb.json``), which two
    sweeps into one folder give to different folders: the second's record replaced the
    first's, and that folder read as run. A long name ends in a digest of the whole."""
    name = quote(job, safe="=,+@")
    if len(name) > MAX_NAME:
        name = f"{name[: MAX_NAME - 17]}-{hashlib.sha256(job.encode()).hexdigest()[:16]}"
    return f"{name}.json"


def not_run_records(root: Path, *, quiet: bool = False) -> list[tuple[Path, dict]]:
    """Each record in ``root``'s ``.not_run/`` that names a job folder, in name order; a
    damaged one names no job to mark, and is passed over with a warning (``quiet``: none)."""
    records = []
    for path in sorted((root / NOT_RUN).glob("*.json"), key=natural_key)[:MAX_RECORDS]:
        try:
            record = read_json(path)
        except ValueError as err:
            if not quiet:
                log.warning("%s; the job it names is not marked as one that did not run", err)
            continue
        found = record.get("found", {})  # absent in records from before the hashes
        if (
            isinstance(record.get("job"), str)
            and isinstance(record.get("error", ""), str)
            and isinstance(found, dict)
            and all(isinstance(v, (str, type(None))) for v in found.values())
        ):
            records.append((path, record))
        elif not quiet:  # "found": 5 fell back to the files' times, and hid a failure
            log.warning("%s: not a record of a job that did not run (job, error, found); "
                        "the job it names is not marked as one", path)  # fmt: skip
    return records


def _still_holds(path: Path, record: dict, job_dir: Path) -> bool:
    """Whether nothing has written ``job_dir``'s results since ``record`` was written."""
    found = record.get("found")
    if isinstance(found, dict):
        return found == results_found(job_dir)
    # a record without the hashes, from before them: by the files' times, as then
    stamp = _mtime(path)
    return stamp >= 0 and all(_mtime(job_dir / name) < stamp for name in RESULT_FILES)


def mark_not_run(root: Path, rows: list[dict]) -> None:
    """The rows of jobs that a record in ``.not_run/`` says were passed over, with nothing
    written in their folder since: ``not run``, the record's file and reason as the error;
    the figures shown are those the folder held."""
    records: dict[str, list[tuple[Path, dict]]] = {}
    for path, record in not_run_records(root):
        records.setdefault(record["job"], []).append((path, record))
    for row in rows:
        if row["job"] not in records or row["status"] == "broken":  # the damage is said
            continue
        job_dir = Path(row["run_dir"])
        holding = [(p, r) for p, r in records[row["job"]] if _still_holds(p, r, job_dir)]
        if holding:  # several: the sweeps since the results each passed it over; the last
            path, record = max(holding, key=lambda held: _mtime(held[0]))
            row["status"] = "not run"
            row["error"] = f"{path.relative_to(root)}: {record.get('error', '')}"


def forget_not_run(run_dir: Path) -> None:
    """A run takes ``run_dir``: the records of the sweep folders above it that name it as
    passed over are no longer true, and go (a warning names one that cannot). Only files as
    ``note_not_run`` writes them, in a folder of their own, not a link to one elsewhere."""
    run_dir = run_dir.absolute()
    for folder in run_dir.parents:
        if not (folder / NOT_RUN).is_dir() or (folder / NOT_RUN).is_symlink():
            continue
        job = os.path.relpath(run_dir, folder)
        for path, record in not_run_records(folder, quiet=True):
            if record["job"] != job or "sweep" not in record or path.is_symlink():
                continue
            try:
                path.unlink()
            except OSError as err:
                log.warning("%s cannot be removed (%s): the job may be listed as not run "
                            "until its results change", path, err.strerror or err)  # fmt: skip


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1
