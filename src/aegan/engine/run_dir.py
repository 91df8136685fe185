"""The run folder at the start of training: each thing in it of its kind, no trained run
above it, a trained run in it only to continue it, and room and write access for checkpoints
(the checkpoint it continues from: ``aegan.engine.resume``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from itertools import islice
from pathlib import Path

from aegan.engine.checkpoint import remove_killed_saves, resolve_checkpoint
from aegan.engine.folder_lock import held_elsewhere, train_elsewhere
from aegan.engine.run_record import (
    earlier_run,
    link_into_another_run,
    no_last_checkpoint,
    trained_run_holding,
)
from aegan.errors import ConfigError
from aegan.io.path_kinds import leads_to, path_kind

MIN_FREE_BYTES = 200 * 2**20


# What a run keeps in its folder, and whether each is a folder (True) or a file.
RUN_LAYOUT = {".hydra": True, "checkpoints": True, "tb": True, "samples": True,
              "metrics.json": False, "failed.json": False, "stopped.json": False,
              "evaluating.json": False,
              ".hydra/config.yaml": False, ".hydra/hydra.yaml": False,
              ".hydra/overrides.yaml": False}  # fmt: skip


def check_layout(run_dir: Path) -> None:
    """Each thing a run keeps in ``run_dir``, where it exists, of its kind: a file where a
    folder goes (or the other way) would stop the run at its first write; and none a link
    into another trained run, whose record, curves or pictures this run would write over
    (a link to a folder elsewhere, a larger disk say, is followed)."""
    for name, is_folder in RUN_LAYOUT.items():
        path, wanted = run_dir / name, "a folder" if is_folder else "a file"
        written_through = is_folder or name.startswith(".hydra/")  # the others are replaced
        if written_through and path_kind(path) == "a loop of links":  # resolve() raised
            raise ConfigError(f"{path} is a loop of links, where a run keeps {wanted}: remove it")
        if os.path.lexists(path) and path.is_dir() != is_folder:
            found = "not a folder" if is_folder else "a folder"
            raise ConfigError(f"{path} is {found}, where a run keeps {wanted}: move it away")
        linked = link_into_another_run(run_dir, path) if written_through else None
        if linked is not None:
            raise ConfigError(
                f"{path} is a link to {linked[1]}, inside the trained run {linked[2]}: this run "
                "would write over that run's files; remove the link"
            )


# The names a run gives things at the top of its folder: one of the wrong kind there (a
# folder named train.log) is named by the check of that thing
RUN_NAMES = (*(n for n in RUN_LAYOUT if "/" not in n), "train.log", "evaluate.log")


def check_own_folder(
    folder: Path, key: str, owned: Callable[[os.DirEntry], bool] | None = None,
    what: str = "a run",
) -> None:  # fmt: skip
    """``folder`` is new, or holds no folders but hidden ones and ``what``'s own (``owned``;
    by default a run's: one that failed before its first checkpoint). A run trained into a
    folder of other folders (``/``, a folder of runs) made it a trained run's, and every run
    below it one inside that run, never to be continued. Files are the user's to keep
    there: a requeued job's slurm-*.out, notes, a study's database."""
    owned = owned or (lambda entry: entry.name in RUN_NAMES)
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):  # new; or check_layout's to name
        return
    with entries:
        others = (e.name for e in entries if e.is_dir(follow_symlinks=False)
                  and not e.name.startswith(".") and not owned(e))  # fmt: skip
        shown = sorted(islice(others, 3))
    if shown:
        raise ConfigError(
            f"{key}={folder} is not allowed: it holds folders other than {what}'s "
            f"({', '.join(map(repr, shown))}); {what} goes in a folder of its own: choose a "
            "new or empty one"
        )


def check_not_inside_a_run(folder: Path, key: str, *, itself: bool = False) -> None:
    """``folder`` (``itself`` too: a sweep's, whose jobs go below it) is not below a trained
    run's folder: a run there would put its files among that run's, and a sweep's reader
    would take it for one of its jobs."""
    folder, lands = folder.expanduser().absolute(), leads_to(folder)  # where the files go
    trained = trained_run_holding(lands, itself=itself)
    if trained is not None:
        at = "holds a trained run" if trained == lands else f"is inside the trained run {trained}"
        raise ConfigError(f"{key}={folder} {at}; choose a folder outside it")
    # a run training there has no checkpoint to tell it by before its first epoch ends
    running = held_elsewhere([*([lands] if itself else []), *lands.parents])
    if running is not None:
        raise ConfigError(
            f"{key}={folder} is at or inside {running}, a run's folder that another process "
            "trains or evaluates in now; choose a folder outside it"
        )


def check_not_overwriting(run_dir: Path, resume: str | None, key: str = "hydra.run.dir") -> None:
    """A run dir (set by ``key``) that holds a trained run is written again only to continue
    that run (``trainer.resume=auto``, or a checkpoint of its own): a new run would replace
    its checkpoints and metrics."""
    earlier = earlier_run(run_dir)
    if earlier is None:
        return
    if resume == "auto":
        last = run_dir / "checkpoints" / "last.pt"
        if last.is_file():
            return
        raise ConfigError(no_last_checkpoint(run_dir, last))
    own = resume and resolve_checkpoint(resume).resolve().parent  # a link to another disk too
    if own == (run_dir / "checkpoints").resolve():  # continued from a checkpoint of its own
        return
    raise ConfigError(
        f"{run_dir} already holds a trained run ({earlier.relative_to(run_dir)}); continue it "
        f"with trainer.resume=auto (or one of its checkpoints){train_elsewhere(key)}"
    )


def check_checkpoint_names(run_dir: Path) -> None:
    """No folder where a run writes last.pt or best.pt: its first save would fail, after
    an epoch of training."""
    for name in ("last.pt", "best.pt"):
        path = run_dir / "checkpoints" / name
        if path.is_dir():
            raise ConfigError(f"{path} is a folder, where a run keeps a checkpoint: move it away")


def check_run_folder(run_dir: Path, resume: str | None, key: str) -> None:
    """What ``run_dir`` (the setting ``key``) holds, before a run writes there: each thing of
    its kind, no trained run above it, and a trained run in it only to continue it."""
    check_layout(run_dir)
    check_not_inside_a_run(run_dir, key)
    check_not_overwriting(run_dir, resume, key)
    check_checkpoint_names(run_dir)


def check_own_run_folder(run_dir: Path, key: str) -> None:
    """``check_own_folder`` for a run, the last of the folder's checks (their lines say
    more: a data folder, a folder in use); a trained run's may hold the user's notes."""
    if earlier_run(run_dir) is None:
        check_own_folder(run_dir, key)


def prepare_run_dir(
    run_dir: Path, resume: str | None = None, key: str = "paths.output_dir"
) -> None:
    """Fail at the start, not after an hour, when the output folder (set by ``key``) cannot
    take checkpoints or holds a run that this one would overwrite."""
    check_run_folder(run_dir, resume, key)
    check_own_run_folder(run_dir, key)
    try:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        # the folder itself takes metrics.json and the record, checkpoints/ the weights; a
        # probe of its own per call: under torchrun every rank probes the same folders
        for folder in (run_dir, run_dir / "checkpoints"):
            fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=folder)
            os.write(fd, b"ok")
            os.close(fd)
            os.unlink(probe)
        remove_killed_saves(run_dir / "checkpoints")  # the folder is this process's
    except OSError as err:
        raise ConfigError(
            f"{key}={run_dir} is not writable ({err.strerror}); choose another folder"
        ) from err
    free = shutil.disk_usage(run_dir).free
    if free < MIN_FREE_BYTES:
        raise ConfigError(
            f"{key}={run_dir} has only {free / 2**20:.0f} MiB free; "
            f"at least {MIN_FREE_BYTES / 2**20:.0f} MiB are needed for checkpoints"
        )
