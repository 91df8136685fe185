"""Where ``python -m aegan.summarize`` writes summary.csv and summary.md: the folder
summarised or ``--out``, never a run's or job's folder (only its own run writes there),
nor among a sweep's job folders, nor a folder of other runs, whose own summary it is."""

from __future__ import annotations

import os
from itertools import islice
from pathlib import Path

from aegan.engine.run_dir import check_not_inside_a_run
from aegan.errors import ConfigError
from aegan.io.path_kinds import leads_to
from aegan.sweeps.walk import OVERRIDES, SWEEP_FILES, sweep_above


def summary_folder(root: Path, out: str | Path | None) -> Path | None:
    """Where summary.csv and summary.md go: ``out``, else the folder summarised; None where
    that is a run's folder (``run_folder_holding``), which only its own run writes. ``out``
    there, or among a sweep's job folders, is refused."""
    if out is not None:
        where = leads_to(Path(out))  # SWEEP/0/.. is the sweep's folder
        check_not_inside_a_run(where, "--out", itself=True)
        check_out_of_jobs(root, where)
        return Path(out)
    try:
        check_not_inside_a_run(root, "MULTIRUN_DIR", itself=True)
    except ConfigError:
        return None
    return None if run_folder_holding(root) is not None else root


def run_folder_holding(folder: Path) -> Path | None:
    """The run's or job's folder that ``folder`` is or lies inside, trained or not (a job
    that failed or stopped is continued there): the nearest holding the record a run
    writes as it starts (``.hydra/overrides.yaml``)."""
    folder = folder.expanduser().absolute()
    return next(
        (p for p in (folder, *folder.parents) if (p / ".hydra" / "overrides.yaml").is_file()), None
    )


def check_out_of_jobs(root: Path, out: Path) -> None:
    """``out`` is no run's or job's folder, nor inside one, nor among a sweep's job folders
    (of ``root``, the folder summarised, or another sweep), nor a folder of other runs: the
    summary went into a failed job's folder, made a folder where a job of a continued sweep
    goes, or replaced another sweep's own."""
    where = out.expanduser().absolute()
    root = root.expanduser().resolve()
    run = run_folder_holding(where)
    if run is not None:
        inside = "is a run's folder" if run == where else f"is inside the run folder {run}"
        raise ConfigError(
            f"--out={where} {inside}, which only its own run writes; choose a folder outside it"
        )
    sweep = next((s for s in (root, sweep_above(where))
                  if s is not None and s in where.parents), None)  # fmt: skip
    if sweep is not None:
        raise ConfigError(
            f"--out={where} is inside the sweep {sweep}, where its jobs' folders go; leave "
            "--out out to write into the folder summarised, or choose a folder outside the sweep"
        )
    held = None if where == root else runs_held(where)
    if held is not None:  # its summary would be of other runs
        raise ConfigError(
            f"--out={where} holds other runs ({held}), whose own summary.csv and summary.md "
            "this one would replace; leave --out out to write into the folder summarised, or "
            "choose a folder of none"
        )


def runs_held(folder: Path) -> str | None:
    """What shows that ``folder`` holds a sweep or runs, which its own summary is of: a
    sweep's record (``SWEEP_FILES``), or a run's folder in it (of its first 1,000 entries);
    None where neither."""
    record = next((name for name in SWEEP_FILES if os.path.lexists(folder / name)), None)
    if record is not None:
        return record
    try:
        with os.scandir(folder) as entries:
            for entry in islice(entries, 1000):
                if entry.is_dir(follow_symlinks=False) and os.path.lexists(
                    os.path.join(entry.path, OVERRIDES)
                ):
                    return f"{entry.name}/"
    except OSError:  # nothing there yet, or not readable: nothing of its own to replace
        return None
    return None
