"""What a sweep says at its end about its own jobs: how many ended without results, and
where each one's reason is. A job refused in a folder that holds an earlier run's results
(the data changed since, or another process trains there) writes nothing into that folder,
so its record goes into the sweep's ``.not_run/`` instead, marked with the sweep that ran
it (``AEGAN_SWEEP``, set by the sweep and inherited by its jobs' processes; a job that gets
none of that environment names the sweep's folder, which Hydra gives it): read by its
folder alone, such a job was listed ``ok`` and the sweep exited 0 though no job ran."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

from aegan.errors import USER_ERRORS, folder_word
from aegan.io.files import write_json
from aegan.sweeps.not_run import NOT_RUN, not_run_records, record_name, results_found
from aegan.sweeps.reader import read_sweep

log = logging.getLogger("aegan.sweep")

SWEEP_ENV = "AEGAN_SWEEP"
SHOWN = 5  # jobs named in the end's line, and as many files of theirs


# the sweep this process runs: its folder, its name for its jobs, a grid's job folders
_started: dict[str, tuple[Path, str, list[str] | None]] = {}


def start_sweep(folder: Path, jobs: list[str] | None) -> None:
    """The sweep starting in this process into ``folder`` (``jobs``: a grid's job folders;
    None: a search's, every folder there), with a new name passed on to its jobs."""
    os.environ[SWEEP_ENV] = uuid.uuid4().hex
    _started["sweep"] = (folder, os.environ[SWEEP_ENV], jobs)


def forget_sweep() -> None:
    """A run, not a sweep, in this process now."""
    _started.clear()


def end_line(folder: Path | None = None) -> str | None:
    """The line that ends the sweep this process started (``jobs_without_results``), once;
    None where every job gave its results, or no sweep ran. ``folder``: the sweep's, as
    its end gives it; default: as it started (a sweeper that raised at its end)."""
    started = _started.pop("sweep", None)
    if started is None:
        return None
    start_folder, sweep, jobs = started
    return jobs_without_results(folder or start_folder, sweep, jobs)


def note_not_run(sweep_dir: Path, job_dir: Path, num: object, error: str) -> None:
    """Job ``num`` did not run in ``job_dir``, a folder it may not write: said in the sweep's
    ``.not_run/FOLDER.json`` (``record_name``) for the sweep's end to count."""
    job = os.path.relpath(job_dir, sweep_dir)
    # the sweep by its name where the job was given it; where none of the launching
    # process's environment reached the job (SLURM's sbatch --export=NONE), by its folder
    sweep = os.environ.get(SWEEP_ENV) or _by_folder(sweep_dir)
    # what its folder's results were: the job is passed over while they are still so
    record = {"sweep": sweep, "job": job, "error": error, "found": results_found(job_dir)}
    try:
        write_json(sweep_dir / NOT_RUN / record_name(job), record)
    except OSError as err:
        log.warning("%s cannot be written (%s): the sweep's end may count job %s as one with "
                    "results", sweep_dir / NOT_RUN, err.strerror or err, num)  # fmt: skip


def _by_folder(sweep_dir: Path) -> str:
    """The name of the sweep into ``sweep_dir`` that a job gives where it has no other."""
    return os.path.abspath(sweep_dir)


def _not_run(sweep_dir: Path, sweep: str | None) -> dict[str, Path]:
    """``{job folder: its record}`` of the jobs of ``sweep`` (or of the sweep into
    ``sweep_dir``: jobs that were not given its name) that did not run."""
    # quiet: read_sweep has said which records are damaged
    records = not_run_records(sweep_dir, quiet=True) if sweep else []
    ours = (sweep, _by_folder(sweep_dir))
    return {record["job"]: path for path, record in records if record.get("sweep") in ours}


def jobs_without_results(
    sweep_dir: Path, sweep: str | None, jobs: list[str] | None = None
) -> str | None:
    """The line that ends a sweep whose jobs did not all give results: how many, which, and
    the files that say why; None when every job did. ``jobs``: the grid's job folders (an
    earlier sweep's other jobs in the folder are not this one's); None: every job there."""
    try:
        rows = read_sweep(sweep_dir)
    except OSError:  # a launcher that kept no folder: nothing to count
        return None
    except USER_ERRORS as err:  # a folder past the walk's bounds: the jobs ran, uncounted
        return f"the jobs of the sweep ran but cannot be counted at its end: {err}"
    if jobs is not None:
        ours = set(jobs)
        rows = [row for row in rows if row["job"] in ours]
    not_run = _not_run(sweep_dir, sweep)
    without, files = [], []
    for row in rows:
        if row["job"] in not_run:
            without.append(f"job {folder_word(row['job'])} did not run")
            files.append(str(not_run[row["job"]]))
        elif row["status"] != "ok":
            without.append(f"job {folder_word(row['job'])} {row['status']}")
            if row["status"] not in ("not started", "not run"):  # no log of its own
                files.append(str(Path(row["run_dir"]) / "train.log"))
    if not without:
        return None
    shown = ", ".join(without[:SHOWN]) + (", ..." if len(without) > SHOWN else "")
    said = f"; why: {', '.join(files[:SHOWN])}{', ...' if len(files) > SHOWN else ''}"
    return (
        f"{len(without)} of {len(rows)} {'job' if len(rows) == 1 else 'jobs'} of the sweep "
        f"ended without results ({shown}){said if files else ''}; the others' are kept: "
        f"python -m aegan.summarize {sweep_dir}"
    )
