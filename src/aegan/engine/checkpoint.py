"""Checkpoint files: atomic writes, a kept history, safe (weights-only) loading and the
checks on what is read back. What goes into a checkpoint and how a run takes it back is
``aegan.engine.state``.

A checkpoint holds tensors and plain containers only: ``torch.load(weights_only=True)``
refuses anything else, and nothing in it names code. Its ``config`` and ``choices`` say
which options of ``conf/`` the run composed; ``aegan.runs.record.record_config`` rebuilds
from them (the trust boundary).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import warnings
from pathlib import Path

import torch

from aegan.engine.checkpoint_contents import (
    check_plain,
    fingerprint_problem,
    order_problem,
    progress_problem,
    record_problem,
    window_problem,
)
from aegan.engine.failed_write import after_failed_write, failed_file, last_good, not_older
from aegan.engine.run_record import (
    check_in_its_run,
    not_a_run_hint,
    run_holding_hint,
    step_checkpoints,
)
from aegan.errors import CheckpointError, a_kind
from aegan.io.files import atomic_save, file_stamp, fsync_dir, left_by_killed_writes
from aegan.io.path_kinds import path_kind
from aegan.io.readback import DamagedArchive, load_torch_file, shown_read_value

log = logging.getLogger(__name__)

# 2: networks under "networks", the EMA generator a plain module, the composed options
# under "choices". Format 1 files are read through ``_upgrade_format_1``. Added since,
# optional (a file without them still resumes, an older version ignores them): "data" (the
# data's fingerprint; without it, its data goes unchecked, with a warning), "scalar_window".
CHECKPOINT_FORMAT = 2
REQUIRED_KEYS = {
    "config": dict, "choices": dict, "epoch": int, "batch": int, "step": int,
    "best_objective": float, "history": list, "networks": dict, "optimizers": dict,
    "scaler": dict, "task": dict, "rng": dict,
}  # fmt: skip


def _link_or_copy(src: Path, dst: Path) -> None:
    """Point ``dst`` at ``src``'s bytes atomically (hard link, or a copy where links fail)."""
    tmp = dst.with_name(f".{dst.name}.link.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
        os.replace(tmp, dst)
    except OSError:
        atomic_save(torch.load(src, map_location="cpu", weights_only=True), dst)


def save_checkpoint(state: dict, folder: Path, *, step: int, keep: int, is_best: bool) -> Path:
    """Write ``step-XXXXXXXX.pt``, point ``last.pt`` (and ``best.pt``) at it, keep the newest ``keep``.

    Raises ``CheckpointError`` (one line: the file, the reason, the last good checkpoint)
    when the folder cannot take the file, a full disk say; ``last.pt`` is then untouched.
    """
    path = folder / f"step-{step:08d}.pt"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_save({"format_version": CHECKPOINT_FORMAT, **state}, path)
        _link_or_copy(path, folder / "last.pt")
        if is_best:
            _link_or_copy(path, folder / "best.pt")
    except OSError as err:
        raise CheckpointError(
            f"could not write the checkpoint {failed_file(err, path)} "
            f"({err.strerror or err}); {after_failed_write(err, folder.parent)}"
        ) from err
    history = step_checkpoints(folder)
    for old in history[: max(len(history) - max(keep, 1), 0)]:
        old.unlink(missing_ok=True)
    fsync_dir(folder)
    return path


def remove_killed_saves(folder: Path) -> None:
    """Remove the partial checkpoints that a process killed while saving into ``folder`` left
    (SIGKILL after a cluster's grace period, say): hidden, each as large as a checkpoint,
    they filled the disk one requeue at a time. Its last.pt is the last whole save."""
    left = left_by_killed_writes(folder, r"step-\d{8,}\.pt|last\.pt|best\.pt")
    for path in left:
        path.unlink(missing_ok=True)
    if left:
        log.info("removed %d partial checkpoint file%s that a save cut short left in %s",
                 len(left), "s" * (len(left) != 1), folder)  # fmt: skip


def checkpoints_to_keep(folder: Path, keep: int, kept_before: object = None) -> int:
    """How many ``step-*.pt`` a resumed run keeps in ``folder``: ``keep``, or as many as it
    found there where that is more. A resume that does not repeat a larger
    ``trainer.keep_checkpoints`` would otherwise delete what the earlier process kept. At
    most ``kept_before``, the earlier process's setting (its checkpoint's record), where
    known: a process killed in a save leaves one more, which is not a setting to keep."""
    found = len(step_checkpoints(folder))
    if isinstance(kept_before, int) and not isinstance(kept_before, bool) and kept_before >= 1:
        found = min(found, kept_before)
    if found > keep:
        log.warning(
            "trainer.keep_checkpoints=%d: %s holds %d step checkpoints from before this "
            "resume; the run keeps the newest %d (delete older ones yourself to keep fewer)",
            keep, folder, found, found,
        )  # fmt: skip
    return max(keep, found)


def resolve_checkpoint(path: str | Path, which: str = "last") -> Path:
    """A checkpoint file, or a run dir / its checkpoints folder -> ``checkpoints/{which}.pt``."""
    try:
        path = Path(path).expanduser()
        given_a_file = path.is_file()  # a file is the weights it holds, not a run's best.pt
        candidates = (path, path / f"{which}.pt", path / "checkpoints" / f"{which}.pt")
        for candidate in candidates:
            if candidate.is_file() and not (given_a_file and which != "last"):
                return _newest_whole(candidate) if candidate != path else candidate
        stopped_early = any((p / "last.pt").is_file() for p in (path, path / "checkpoints"))
        # a FIFO given as the file, a folder in a checkpoint's place, a link to a file gone
        odd = [(c, kind) for c in candidates  # in a folder that is none: the folder is named
               if (kind := path_kind(c)) and not (c == path and kind == "a folder")
               and (c == path or c.parent.is_dir())]  # fmt: skip
        links_to = {c: os.readlink(c) for c, _ in odd if c.is_symlink()}
        folder_hint = not_a_run_hint(path, which)
    except (OSError, RuntimeError, ValueError) as err:  # too long, ~nosuchuser, a NUL byte
        reason = str(getattr(err, "strerror", None) or err).rstrip(".")
        raise CheckpointError(
            f"no checkpoint at {path}: it cannot be looked up ({reason})"
        ) from None
    if given_a_file:
        raise CheckpointError(
            f"checkpoint={which} is not allowed with the checkpoint file {path}: it holds its "
            f"own weights; name its run folder to take the run's {which}.pt"
        )
    hint = ""
    if odd:
        where, kind = odd[0]
        hint = f"; {'it' if where == path else where} is {kind}"
        if where in links_to:  # the link's own text: where the file was looked for
            hint += f": it names {links_to[where]}"
        elif where != path:
            hint += ": move it away"
    elif which != "last" and stopped_early:
        hint = (
            "; it holds last.pt, no best.pt: no epoch had ended when it stopped, or it was "
            "resumed into this folder after its best epoch, whose best.pt is the folder it "
            "came from (trainer.resume in its .hydra/overrides.yaml): use checkpoint=last"
        )
    else:
        hint = folder_hint
    raise CheckpointError(
        f"no checkpoint at {path}: expected a .pt file, or a run dir holding "
        f"checkpoints/{which}.pt{hint}"
    )


def take_as_last(start: Path, folder: Path) -> None:
    """A resume in ``folder`` (a run's checkpoints) from ``start``, a step file there that a
    save cut short wrote whole after last.pt: last.pt points at it now. A resume with no
    step left to train saves nothing, and left last.pt older than the figures it wrote."""
    last = folder / "last.pt"
    if start.parent.resolve() != folder.resolve() or not start.name.startswith("step-"):
        return
    if last.is_file() and not last.is_symlink() and not not_older(last, start):
        _link_or_copy(start, last)
        log.info("%s now points at %s, the run's last", last, start.name)


def _newest_whole(last: Path) -> Path:
    """A run's ``last.pt``, or the step file its last save wrote whole before a kill stopped
    it pointing last.pt there (``last_good``): a resume from last.pt trained that step
    again, and filed the newer file as a branch's past."""
    if last.name != "last.pt" or last.is_symlink():  # a link is none a save made: its own
        return last  # checks say whose it is
    newest = last_good(last.parent)
    if newest is not None and newest != last:
        log.info("%s is older than %s, which a save cut short wrote whole: taken as the "
                 "run's last", last, newest.name)  # fmt: skip
        return newest
    return last


def run_dir_of(path: str | Path) -> Path:
    """The run dir that ``path`` names: a run dir itself, its ``checkpoints`` folder, or a
    checkpoint file in that folder (a file elsewhere: the folder holding it)."""
    path = Path(path).expanduser()
    with contextlib.suppress(OSError):  # a name too long, say: the caller's check names it
        path = path.absolute()  # "last.pt" named in RUN/checkpoints is RUN's, not "."'s
        if path.is_file():
            path = path.parent
    return path.parent if path.name == "checkpoints" else path


def load_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``; refuse code payloads, unknown formats
    and files missing what a checkpoint holds, in one line naming the file.

    The next load of the same file, unchanged, takes what this one read instead of reading
    it again: a resume's checkpoint is read by the check before the run's folder is made,
    then by the run."""
    path = Path(path)
    try:
        key = (str(path.resolve()), file_stamp(path.stat()), str(map_location))
    except (OSError, RuntimeError, ValueError):  # the read below names what is wrong
        key = None
    held = _held.pop(key, None) if key is not None else None
    _held.clear()  # one checkpoint at most is held, for the load that comes next
    if held is None:
        try:
            held = _read_checked(path, map_location)
        except CheckpointError as err:  # a run's metrics.json, say: its run is named
            raise CheckpointError(f"{err}{run_holding_hint(path)}") from err.__cause__
        if key is not None:
            _held[key] = held
    state, warned = held
    check_in_its_run(path, state)  # the folder's record, which may have changed since
    for warning in warned:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return state


def _read_checked(path: Path, map_location: str | torch.device) -> tuple[dict, list]:
    """(the checkpoint at ``path``, checked, the warnings torch gave as it read it)."""
    try:
        with warnings.catch_warnings(record=True) as held:  # shown only if the file is accepted
            warnings.simplefilter("always")
            state = load_torch_file(path, map_location=map_location)
    except DamagedArchive as err:
        raise CheckpointError(f"{path}: not a readable checkpoint ({err})") from None
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path}: refused to load: the file holds Python objects beyond tensors and plain "
            "containers (possibly code); only weights-only checkpoints are accepted"
        ) from err
    except Exception as err:  # torch raises many types for a truncated or foreign file
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason})") from err
    if not isinstance(state, dict) or "format_version" not in state:
        raise CheckpointError(f"{path}: not an aegan checkpoint (no format_version)")
    check_plain(state, path)
    version = state["format_version"]
    if type(version) is not int:  # a tensor, say, which == would compare elementwise
        version = -1
    if version == 1:
        try:
            state = _upgrade_format_1(state)
        except (TypeError, AttributeError, KeyError, ValueError) as err:
            raise CheckpointError(
                f"{path}: not a usable format-1 checkpoint ({err!r:.120})"
            ) from err
    if version not in (1, CHECKPOINT_FORMAT):
        given = state["format_version"]
        shown = shown_read_value(given) if type(given) is int else f"{given!r:.40}"
        raise CheckpointError(
            f"{path}: checkpoint format {shown} is not supported "
            f"(this version reads formats 1 and {CHECKPOINT_FORMAT})"
        )
    for key, kind in REQUIRED_KEYS.items():
        value = state.get(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            other = f"{a_kind(type(value).__name__)}, not {a_kind(kind.__name__)}"
            what = "missing" if key not in state else other
            raise CheckpointError(f"{path}: not a usable checkpoint: {key} is {what}")
    if min(state["step"], state["epoch"], state["batch"]) < 0:
        raise CheckpointError(f"{path}: not a usable checkpoint: a negative step, epoch or batch")
    problem = (
        record_problem(state) or progress_problem(state) or order_problem(state)
        or window_problem(state) or fingerprint_problem(state)
    )  # fmt: skip
    if problem:
        raise CheckpointError(f"{path}: not a usable checkpoint: {problem}")
    return state, held


_held: dict[tuple, tuple[dict, list]] = {}  # the last checkpoint read, for the next load


def _upgrade_format_1(state: dict) -> dict:
    """A format-1 checkpoint in format 2: weights under "networks", the EMA generator without
    ``AveragedModel``'s "module." and counter, choices inferred (None where a file names none)."""
    networks = dict(state.pop("modules", {}))
    ema = networks.get("generator_ema")
    if isinstance(ema, dict):
        networks["generator_ema"] = {
            k.removeprefix("module."): v for k, v in ema.items() if k != "n_averaged"
        }
    config = state["config"] if isinstance(state.get("config"), dict) else {}
    said = {group: config[group].get(key) if isinstance(config.get(group), dict) else None
            for group, key in (("model", "task"), ("data", "name"))}  # fmt: skip
    choices = {group: name if isinstance(name, str) else None for group, name in said.items()}
    choices["model"] = {"gan": "dcgan"}.get(choices["model"], choices["model"])
    return {**state, "format_version": 2, "networks": networks, "choices": choices}
