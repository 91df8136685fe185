"""What a run folder's own record says of the files in it, checked when they are read back.

The record (``RUN_DIR/.hydra/config.yaml``) is read strictly and only compared with: what
runs is always built from ``conf/`` and the command line (``aegan.runs.record``). A folder given
as a run that holds no checkpoint to read is said in words: what it holds instead."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from aegan.errors import CheckpointError
from aegan.io.path_kinds import leads_to, not_regular, path_kind, shown
from aegan.io.readback import read_plain_yaml

MAX_RECORD_DEPTH = 32  # a composed config nests under 10
log = logging.getLogger(__name__)
_warned: set[str] = set()  # records said once a process: a resume loads its checkpoint twice


STEP_NAME = re.compile(r"step-(\d{8,})\.pt")  # as save_checkpoint names them


def step_checkpoints(folder: Path) -> list[Path]:
    """The files ``save_checkpoint`` named ``step-XXXXXXXX.pt`` in ``folder``, by step: one
    of another name (``step-00000004-good.pt``, a copy kept) is the user's, never pruned."""
    found = [p for p in folder.glob("step-*.pt") if STEP_NAME.fullmatch(p.name) and p.is_file()]
    return sorted(found, key=lambda p: int(STEP_NAME.fullmatch(p.name)[1]))  # 10**8 after 9s


def earlier_run(run_dir: Path) -> Path | None:
    """A file that a run trained in ``run_dir`` left (a checkpoint, its metrics), or None."""
    folder = run_dir / "checkpoints"
    for path in (
        *(sorted(folder.glob("*.pt")) if folder.is_dir() else ()),
        run_dir / "metrics.json",
    ):
        if path.exists():
            return path
    return None


def trained_run_holding(folder: Path, *, itself: bool = True) -> Path | None:
    """The trained run (``earlier_run``) that ``folder`` is (``itself``) or lies inside,
    the nearest; None where there is none."""
    above = (folder, *folder.parents) if itself else folder.parents
    return next((p for p in above if earlier_run(p) is not None), None)


def link_into_another_run(run_dir: Path, path: Path) -> tuple[Path, Path, Path] | None:
    """(the link, where it leads, the trained run there) where ``path``, at or below the run
    folder ``run_dir``, or a folder between, is a link into another trained run: its files
    would be read, resumed or written as this run's. None where none is."""
    own, place = leads_to(run_dir), Path(run_dir)
    for part in Path(path).relative_to(run_dir).parts:
        place = place / part
        if place.is_symlink():
            target = leads_to(place)
            other = trained_run_holding(target)
            if other is not None and other != own:
                return place, target, other
    return None


def link_out_of_run(run_dir: Path, path: Path) -> str | None:
    """What makes ``path``, at or below the run folder ``run_dir``, not that run's own file,
    after "PATH is": a link into another trained run, or one behind such a link of a folder
    (``link_into_another_run``), or a link to a regular file outside the run's folder and
    its own; None where it is its own. A link to a folder elsewhere (a larger disk) is the
    run's; one to a device, a FIFO or nothing is named by its kind where the file is read."""
    found = link_into_another_run(run_dir, path)
    if found is not None:
        link, target, other = found
        inside = f"{shown(target)}, inside the trained run {shown(other)}"
        return f"a link to {inside}" if link == path else f"behind the link {link} to {inside}"
    if not path.is_symlink() or not path.is_file():  # a folder; what is no file: its kind says
        return None
    target = leads_to(path)
    if any(target.is_relative_to(folder) for folder in (leads_to(run_dir), leads_to(path.parent))):
        return None
    return f"a link to {shown(target)}, outside the run's folder {shown(run_dir)}"


def trained_behind_a_link(run: Path, path: Path, state: dict) -> str | None:
    """Where the checkpoint ``path`` of the run folder ``run`` lies behind a link out of it
    (its checkpoints/ on another disk) that another run's folder links to as well, and that
    run trained it (its ``paths.output_dir``): the runs would take each other's files. A
    run copied or moved elsewhere since, its old folder's checkpoints not there, is its own."""
    folder = run / path.relative_to(run).parts[0]
    if not folder.is_symlink() or leads_to(folder).is_relative_to(leads_to(run)):
        return None
    config = state.get("config")
    paths = config.get("paths") if isinstance(config, dict) else None
    trained_in = paths.get("output_dir") if isinstance(paths, dict) else None
    try:
        if not isinstance(trained_in, str) or leads_to(Path(trained_in)) == leads_to(run):
            return None
        shared = leads_to(Path(trained_in) / folder.name) == leads_to(folder)
    except ValueError:  # a NUL byte: no folder a run trained in
        return None
    if not shared:
        return None
    return (f"lies behind the link {folder} to {shown(leads_to(folder))}, where the run "
            f"{shown(trained_in)} keeps its checkpoints too, and was trained by that run")  # fmt: skip


def run_holding_hint(path: Path) -> str:
    """Where ``path``, given as a run or a checkpoint and read as neither, is one of a
    trained run's other files or folders (its metrics.json, train.log, .hydra/, tb/): the
    run's folder to give instead, as the end of the refusal's line; else nothing."""
    try:  # where it is, not what its text says: RUN/../multirun.yaml is not in RUN
        path = Path(path).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        return ""
    run = trained_run_holding(path, itself=False)
    if run is None or path.suffix == ".pt" or "checkpoints" in path.relative_to(run).parts:
        return ""  # a checkpoint of its own: what is wrong with it is the whole line
    return f"; it lies in the run {run}: give that folder instead"


def not_a_run_hint(path: Path, which: str) -> str:
    """What ``path`` is instead of a run with ``which``.pt, as the end of a refusal's line:
    nothing, a run whose checkpoints folder is a file (or a FIFO...), a sweep's folder (its
    jobs are the runs) or another folder of runs (``logs/train/runs``), a run whose
    checkpoints folder keeps others (its step-*.pt) or one that has saved none yet."""
    if not path.exists():
        return "; it does not exist"
    if os.path.lexists(folder := path / "checkpoints") and not folder.is_dir():
        return f"; {folder} is {path_kind(folder) or 'a file'}, where a run keeps a folder"
    jobs = sorted(p.parent.parent.name for p in path.glob(f"*/checkpoints/{which}.pt"))
    if jobs:
        named = ", ".join(str(path / job) for job in jobs[:2])
        more = f" and {len(jobs) - 2} more" if len(jobs) > 2 else ""
        what = "a sweep's folder" if (path / "multirun.yaml").is_file() else "a folder of runs"
        return f"; it is {what}: name one of its runs ({named}{more})"
    kept = [*step_checkpoints(folder), *step_checkpoints(path)]  # RUN, or RUN/checkpoints
    if kept:  # last.pt removed or moved: the newest step is the one it pointed at
        return f"; {kept[-1].parent} holds no {which}.pt: name its newest step's, {kept[-1]}"
    if (path / ".hydra").is_dir():
        return "; its run has saved no checkpoint yet (one is saved at each epoch's end)"
    return run_holding_hint(path)  # a run's tb/ or .hydra/


def no_last_checkpoint(run_dir: Path, last: Path) -> str:
    """trainer.resume=auto in a run dir holding a run but no ``last.pt`` to continue: what
    is there instead, and the checkpoints to continue from (the newest step-*.pt is what
    last.pt pointed at)."""
    what = path_kind(last) or "missing"
    folder = what == "a folder"
    steps = step_checkpoints(last.parent) if last.parent.is_dir() else []
    kept = [p for p in (*reversed(steps), last.parent / "best.pt") if p.is_file()]
    named = [kept[0]] if kept else []
    if kept and kept[0].name != "best.pt" and kept[-1].name == "best.pt":
        named.append(kept[-1])
    if named:
        hint = " or ".join(f"trainer.resume={p}" for p in named)
        hint = f"{'move it away, then ' if folder else ''}continue it with {hint}"
    else:
        hint = "no checkpoint is there to continue from; train into another folder"
    return (
        f"trainer.resume=auto: {run_dir} holds a trained run, but its checkpoints/{last.name} "
        f"is {what}; {hint}"
    )


def run_folder_of(path: Path) -> Path:
    """The run folder whose record speaks for the checkpoint file ``path``: RUN for
    ``RUN/checkpoints/X.pt`` and a branch's ``RUN/checkpoints/past-step-N/X.pt``, else the
    folder holding it; absolute ("last.pt" named in RUN/checkpoints is RUN's)."""
    path = Path(path).absolute()
    return next((p.parent for p in (path.parent, path.parent.parent) if p.name == "checkpoints"),
                path.parent)  # fmt: skip


def stray_checkpoint(path: Path) -> str | None:
    """Why the checkpoint file ``path`` is not the run of the folder it lies in, whose
    figures (``metrics.json``) would be taken for its own; None where it is: a run's
    ``checkpoints/X.pt``, or a file in a folder of its own (its figures go beside it)."""
    path = Path(path).absolute()  # "x.pt" named in its folder: that folder's
    folder = path.parent
    if folder.name == "checkpoints":
        return None
    run = run_folder_of(path)
    if run != folder:
        return (f"{path} is of a branch kept in {folder} when the run {run} resumed from an "
                f"earlier step, not of that run's weights")  # fmt: skip
    if (folder / "checkpoints").is_dir() or (folder / ".hydra").is_dir():
        return f"{path} lies beside the run {folder}, not in its checkpoints folder"
    inside = trained_run_holding(folder, itself=False)
    if inside is not None:
        return f"{path} lies inside the trained run {inside}"
    return None


def saved_choice(state: dict, group: str) -> str:
    """What a checkpoint's choices say of ``group`` (model, data), after "a checkpoint":
    "of model=NAME", or "that names no model" where the file names none (a format-1 file
    saved without ``model.task``): "model=null" named an option that nobody has."""
    name = (state.get("choices") or {}).get(group)
    return f"of {group}={shown(name)}" if isinstance(name, str) else f"that names no {group}"


def check_in_its_run(path: Path, state: dict) -> None:
    """A checkpoint in a run's folder (its ``checkpoints/``, a branch's ``past-step-N/``
    there, or beside them) is of the model and data that run's record (``.hydra/config.yaml``)
    names: another run's file copied there would be evaluated, loaded or resumed as that
    run. The record is only compared with, never built from; a folder without one is not
    checked, and one that is no regular file or is damaged is named in a warning. The
    networks' sizes the record builds, and its other settings, are compared by
    ``aegan.runs.record_networks``. One reached through a link into another run, or a link out
    of its run's folder (``link_out_of_run``), is not the run's whatever its record says."""
    where = Path(path).absolute()
    run = run_folder_of(where)
    linked = link_out_of_run(run, where) if run != where.parent else None  # a loose file: its own
    if linked is not None:
        raise CheckpointError(f"{path} is {linked}; it is not this run's: {NOT_ITS_LINK}")
    shared = trained_behind_a_link(run, where, state)
    if shared is not None:
        raise CheckpointError(f"{path} {shared}; it is not this run's: give each run a "
                              "checkpoints folder of its own")  # fmt: skip
    found = folder_record(path)
    if found is None:
        return
    record, config = found
    for group in ("model", "data"):  # neither changes within a run: a resume keeps both
        name = config.get(group, {}).get("name")  # an option of one's own may leave it out
        saved = state["choices"].get(group)
        if isinstance(name, str) and saved != name:
            verdict = "not" if isinstance(saved, str) else "not known to be"
            raise CheckpointError(
                f"{path}: a checkpoint {saved_choice(state, group)}, in the folder of a run of "
                f"{group}={shown(name)} ({record}); it is {verdict} this run's: {NOT_ITS_RUN}"
            )


NOT_ITS_RUN = "move it away, or name the run it came from"  # what to do with another's file
NOT_ITS_LINK = "remove the link, or name the file it leads to"


def folder_record(path: Path) -> tuple[Path, dict] | None:
    """(the record of the run folder the checkpoint ``path`` lies in, what it holds), read
    as plain YAML; None where the folder has none, or where it is no regular file or no
    composed config (said in one warning)."""
    run = run_folder_of(path)
    record = run / ".hydra" / "config.yaml"
    if not os.path.lexists(record):  # no run's folder: nothing to compare with
        return None
    linked = link_out_of_run(run, record)
    if linked is not None:  # compared with, another's record would pass another's weights
        warn_unchecked(record, f"{record}: {linked}, not the run's own record")
        return None
    try:
        kind = path_kind(record)  # a FIFO or a device is never opened: it could wait forever
        if kind is not None:
            raise ValueError(f"{record}: {not_regular(kind)}")
        config = read_plain_yaml(record, max_depth=MAX_RECORD_DEPTH)
    except (OSError, ValueError) as err:  # the checkpoint's own record rebuilds the run
        warn_unchecked(record, str(err))
        return None
    problem = _record_problem(config)
    if problem is not None:  # damaged as surely as a file that is not YAML
        warn_unchecked(record, f"{record}: not a run's record ({problem})")
        return None
    return record, config


def _record_problem(config: object) -> str | None:
    """What makes ``config`` (a record read as plain YAML) no composed config, or None: a
    run composes a mapping with a ``model`` mapping (and ``data``: a mapping where given),
    their ``name`` text where given."""
    if not isinstance(config, dict):
        return f"it is {_kind(config)}, not a mapping"
    for group in ("model", "data"):
        section = config.get(group, {} if group == "data" else None)
        if not isinstance(section, dict):
            return f"it has no {group}" if section is None else f"its {group} is {_kind(section)}"
        name = section.get("name")
        if name is not None and not isinstance(name, str):
            return f"its {group}.name is {_kind(name)}, not text"
    return None


def _kind(value: object) -> str:
    """What a YAML value is, in words: "a list", "a number", "text", "empty"."""
    kinds = {type(None): "empty", bool: "true or false", int: "a number", float: "a number",
             str: "text", list: "a list", dict: "a mapping"}  # fmt: skip
    return kinds.get(type(value), "a date")  # YAML's only other plain value


def warn_unchecked(record: Path, reason: str) -> None:
    """Say once a process that ``record`` (``reason``) is not compared with its checkpoints."""
    if str(record) not in _warned:
        _warned.add(str(record))
        log.warning("%s; the checkpoints of its run are not compared with it, their own "
                    "records rebuild the run", reason)  # fmt: skip
