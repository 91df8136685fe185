"""A run resumed in its own folder from a checkpoint before its last: a branch, whose saves
would replace what the run trained past that checkpoint; those files are kept aside first."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from aegan.engine.failed_write import not_older, same_bytes
from aegan.engine.run_record import step_checkpoints
from aegan.io.files import free_name

log = logging.getLogger("aegan.train")  # these lines belong to the training run's log


def keep_later_checkpoints(run_dir: Path, start: Path, step: int, epoch: int) -> Path | None:
    """A run resumed in its own folder from a checkpoint before its last (``start``, at
    ``step``, ``epoch`` epochs done) trains a branch there, whose saves would replace what
    was trained past it: the checkpoints (``last.pt``, ``best.pt`` and ``step-*.pt`` beyond
    ``step``, unless ``start`` itself), the sample grids of later epochs, the records the
    branch rewrites (``.hydra/``, TensorBoard's hparams and later projector codes) and the
    TensorBoard curves it hides are kept in ``checkpoints/past-step-N/``. Returns it."""
    folder = run_dir / "checkpoints"
    if not folder.is_dir() or start.resolve().parent != folder.resolve():
        return None
    later = [p for p in step_checkpoints(folder) if _step_of(p) > step]
    # last.pt older than ``start``: a save cut short wrote ``start`` whole after it
    later += [p for p in (folder / "last.pt", folder / "best.pt")
              if p.is_file() and (p.name == "best.pt" or not_older(p, start))]  # fmt: skip
    later = [p for p in later if not same_bytes(p, start)]
    if not any(p.name.startswith("step-") or p.name == "last.pt" for p in later):
        return None  # nothing trained past it: a plain continuation
    kept = free_name(folder / f"past-step-{step}")
    kept.mkdir()
    pictures = [p for p in sorted((run_dir / "samples").glob("epoch-*.png"))
                if p.is_file() and _number(p.stem, "epoch-") > epoch]  # fmt: skip
    for path in later:
        if path.name.startswith("step-"):  # moved: left here, the branch's pruning takes them
            path.rename(kept / path.name)
        else:  # last.pt and best.pt stay the folder's until the branch replaces them
            _link(path, kept / path.name)
    if pictures:  # moved: the branch's own are written under their names
        (kept / "samples").mkdir()
    for path in pictures:
        path.rename(kept / "samples" / path.name)
    for path in sorted((run_dir / ".hydra").glob("*.yaml")):  # written in place
        (kept / ".hydra").mkdir(exist_ok=True)
        _copy(path, kept / ".hydra" / path.name)
    tb = run_dir / "tb"  # the branch replaces the hparams record, and a step's projector codes
    records = [tb / "hparams", tb / "projector_config.pbtxt"] + [
        p for p in sorted(tb.glob("[0-9]*")) if p.is_dir() and _number(p.name, "") > step
    ]
    for path in (p for p in records if p.exists() and not p.is_symlink()):
        (kept / "tb").mkdir(exist_ok=True)
        _copy(path, kept / "tb" / path.name)
    # the curves: the branch's log purges the steps past its start from TensorBoard's view
    for path in sorted(tb.glob("events.out.tfevents.*")):
        if path.is_file() and not path.is_symlink():  # closed: no writer appends to them
            (kept / "tb").mkdir(exist_ok=True)
            _link(path, kept / "tb" / path.name)
    log.info("resumed from step %d in its own folder: the checkpoints, pictures, curves and "
             "record of the run past it are kept in %s", step, kept)  # fmt: skip
    return kept


def _link(path: Path, to: Path) -> None:
    """``to`` as a second name of the file ``path`` (a copy where links fail)."""
    try:
        os.link(path, to)
    except OSError:  # a file system without hard links
        shutil.copy2(path, to)


def _copy(path: Path, to: Path) -> None:
    """``path`` (a file, or a folder of them) copied to ``to``, its links as links: followed,
    a link to ``/dev/zero`` would be copied until the disk is full, one to a FIFO wait
    forever. What is neither a file nor a folder (a FIFO, a device) is left out."""
    if path.is_symlink():
        os.symlink(os.readlink(path), to)
    elif path.is_dir():
        shutil.copytree(path, to, symlinks=True, ignore=_special_files)
    elif path.is_file():
        shutil.copy2(path, to)


def _special_files(folder: str, names: list[str]) -> list[str]:
    """Of ``names`` in ``folder``, those that are neither a link, a file nor a folder."""
    paths = ((name, os.path.join(folder, name)) for name in names)
    return [n for n, p in paths if not (os.path.islink(p) or os.path.isfile(p) or os.path.isdir(p))]


def _number(name: str, prefix: str) -> int:
    digits = name.removeprefix(prefix)
    return int(digits) if digits.isdigit() else -1


def _step_of(path: Path) -> int:
    return _number(path.stem, "step-")
