"""A grid's jobs as its sweep began (``SWEEP/jobs.json``): the jobs without a folder never
started (the sweep was cut short), and a folder whose job holds other overrides than the
grid gave it holds an earlier sweep's job, which this one has not reached yet. A search's
trials are not known ahead, and it writes none."""

from __future__ import annotations

import os
from pathlib import Path

from aegan.io.files import below, write_json
from aegan.io.readback import read_json
from aegan.sweeps.job_overrides import is_override

PLANNED_JOBS = "jobs.json"
MAX_PLANNED = 10_000
NOT_STARTED = ("the sweep ended before it (stopped?), or is still running; once it has ended, "
               "the same command with trainer.resume=auto runs the jobs left")  # fmt: skip


def write_planned_jobs(sweep_dir: Path, planned: list[dict]) -> None:
    """SWEEP_DIR/jobs.json: the grid's jobs (``{"job": folder, "overrides": [...]}``), for
    ``read_sweep`` to list those that never started; none for a grid too large to list."""
    if len(planned) <= MAX_PLANNED:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        write_json(sweep_dir / PLANNED_JOBS, {"jobs": planned})


def planned_jobs(root: Path) -> dict[str, list[str]]:
    """``{job folder: its overrides}`` of ``root``'s jobs.json, in its order (a folder
    listed twice: the first); {} where there is none. ``ValueError`` for a file that is no
    such list, or names a folder outside the sweep's."""
    path = root / PLANNED_JOBS
    if not os.path.lexists(path):  # a FIFO, a folder or a dangling link there is damage, said
        return {}
    jobs = read_json(path).get("jobs")
    if not isinstance(jobs, list) or len(jobs) > MAX_PLANNED:
        raise ValueError(f"{path}: not a list of at most {MAX_PLANNED} jobs")
    planned: dict[str, list[str]] = {}
    for job in jobs:
        folder, overrides = (
            (job.get("job"), job.get("overrides")) if isinstance(job, dict) else (None, None)
        )
        if (
            not isinstance(folder, str)
            or not isinstance(overrides, list)
            or not all(isinstance(o, str) and is_override(o) for o in overrides)
        ):
            raise ValueError(f"{path}: a job that is not a folder and its overrides")
        if not below(folder):  # its run_dir elsewhere
            raise ValueError(f"{path}: job {folder!r:.80} is not a folder inside the sweep's")
        planned.setdefault(folder, overrides)
    return planned


def earlier_sweeps_job(row: dict, planned: dict[str, list[str]]) -> bool:
    """Whether ``row`` (a job folder's, read) holds another job than the grid planned for
    its folder: an earlier sweep's, in a folder the grid reuses (``trainer.resume=auto``
    with other settings) and has not reached. Hydra writes a job's overrides as it starts."""
    wanted = planned.get(row["job"])
    return wanted is not None and row["overrides"] != wanted
