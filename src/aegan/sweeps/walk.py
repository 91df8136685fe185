"""The job folders under a sweep's folder, found by a walk with bounds: a folder holding
``.hydra/overrides.yaml`` is a job (and not walked into: its tb/ and checkpoints are no
jobs), a link is not followed (one to a job's folder is found, for the reader to list as
no folder of the sweep's), and a hidden folder (``.submitit``, ``.not_run``) holds no
job. ``read_sweep("/")`` or a home folder, walked whole, took minutes and listed every run
on the disk as a job of one sweep; past the bounds the walk stops with one line."""

from __future__ import annotations

import os
from pathlib import Path

from aegan.errors import ConfigError
from aegan.io.files import below, natural_key

OVERRIDES = os.path.join(".hydra", "overrides.yaml")
# folders from the sweep's to a job's: 1 for N/, 2 for a nested hydra.sweep.subdir or a
# log folder's multiruns/DATE/N seen from train/, 4 from logs/
MAX_JOB_DEPTH = 6
# entries looked at outside job folders: twice the largest grid (10,000 jobs,
# aegan.sweep_checks.jobs); / passed it in 14 s on a loaded 2-core machine, and took 44 s to
# walk whole
MAX_ENTRIES = 20_000
# what a sweep writes into its own folder: a grid's multirun.yaml and jobs.json, a search's
# optimization_results.yaml at its end
SWEEP_FILES = ("multirun.yaml", "jobs.json", "optimization_results.yaml")


def sweep_above(folder: Path) -> Path | None:
    """The folder above ``folder`` (as given, or where its links lead) that holds a sweep
    (``SWEEP_FILES``), if any: a sweep there is read as that sweep's jobs by its summary."""
    folder = folder.expanduser()
    try:
        paths = [folder.absolute(), folder.resolve()]
    except (OSError, RuntimeError):  # a loop of links: the folder checks name it
        paths = [folder.absolute()]
    return next((parent for path in paths for parent in path.parents
                 if any(os.path.lexists(parent / name) for name in SWEEP_FILES)), None)  # fmt: skip


def check_job_subdir(subdir: str, written: str) -> None:
    """A job's folder (``hydra.sweep.subdir`` as resolved for it; ``written``: as typed)
    below the sweep's, where this walk finds it: an absolute path or a ``..``, typed or from
    an interpolation, trains the job elsewhere (a data folder, a trained run); a hidden
    folder, one more than ``MAX_JOB_DEPTH`` deep, or a line break in its name, trained the
    job where its summary and its sweep's end found none ("not started")."""
    resolved = "" if subdir == written else f" (for this job: {subdir!r})"
    if not below(subdir):
        raise ConfigError(
            f"hydra.sweep.subdir={written}{resolved} is not allowed: each job's folder must be "
            "inside hydra.sweep.dir (no leading / and no ..), e.g. ${hydra.job.num}"
        )
    parts = Path(subdir).parts
    why = (
        "hidden (a name from .), where summaries look for no job"
        if any(part.startswith(".") for part in parts)
        else f"more than {MAX_JOB_DEPTH} folders deep, below where summaries look for jobs"
        if len(parts) > MAX_JOB_DEPTH
        else "named with a control character, which splits every line naming it"
        if not subdir.isprintable()
        else None
    )
    if why is not None:
        raise ConfigError(
            f"hydra.sweep.subdir={written!r}{resolved} is not allowed: each job's folder would "
            f"be {why}; name them like ${{hydra.job.num}}"
        )


def job_folders(root: Path) -> list[Path]:
    """The job folders at most ``MAX_JOB_DEPTH`` folders below ``root`` (``root`` itself if it
    is one: a single run), in natural order; ``ConfigError`` past ``MAX_ENTRIES`` entries."""
    found, looked, todo = [], 0, [(str(root), 0)]
    while todo:
        folder, depth = todo.pop()
        if os.path.lexists(os.path.join(folder, OVERRIDES)) or (depth and _damaged_record(folder)):
            found.append(Path(folder))  # a dangling one, a .hydra that is none: broken, said
            continue
        if depth == MAX_JOB_DEPTH:
            continue
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    looked += 1
                    if looked > MAX_ENTRIES:
                        raise ConfigError(_too_large(root))
                    if entry.name.startswith("."):
                        continue
                    if _real_folder(entry):
                        todo.append((entry.path, depth + 1))
                    elif _link_to_a_job(entry):  # found, not walked: the reader says so
                        found.append(Path(entry.path))
        except OSError:  # a folder that cannot be read holds no job that can
            continue
    return sorted(found, key=lambda job: natural_key(job.relative_to(root)))


def _damaged_record(folder: str) -> bool:
    """Whether ``folder``'s ``.hydra`` is there but no folder of its own (a file, a link: to
    nothing, a loop, another folder): a job's, damaged, which the walk passed over without a
    word."""
    record = os.path.join(folder, ".hydra")
    return os.path.islink(record) or (os.path.lexists(record) and not os.path.isdir(record))


def _real_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _link_to_a_job(entry: os.DirEntry) -> bool:
    """A link to a folder holding ``.hydra/overrides.yaml`` (a job's folder, as Hydra makes
    none), or one that leads nowhere (a loop of links, a link to nothing, one that cannot be
    followed): passed over, it left a job out of the summary without a word."""
    if not entry.is_symlink():
        return False
    return not os.path.exists(entry.path) or os.path.lexists(os.path.join(entry.path, OVERRIDES))


def _too_large(root: Path) -> str:
    return (
        f"{root} holds more than {MAX_ENTRIES:,} files and folders outside job folders: it is "
        "no sweep's folder, which holds one folder per job (N/.hydra/overrides.yaml); give "
        "the sweep's own folder (hydra.sweep.dir, e.g. logs/train/multiruns/DATE_TIME)"
    )
