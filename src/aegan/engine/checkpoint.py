"""Checkpoint files: atomic writes, a kept history, and safe (weights-only) loading."""

from __future__ import annotations

import io
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used or written; the message names the file and the reason."""


def atomic_save(obj: Any, path: Path) -> None:
    """Write ``obj`` with ``torch.save`` so that ``path`` is either the old or the new file.

    temp file in the same folder -> fsync -> rename -> fsync the folder: a crash or
    SIGKILL at any moment leaves a loadable file. ``obj`` is serialised in memory first, so
    that a full disk fails as a plain ``OSError`` (torch's zip writer turns it into a
    ``RuntimeError`` about file positions).
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buffer.getbuffer())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
            f"could not write the checkpoint {path} ({err.strerror or err}); "
            f"{last_good_checkpoint(folder)}. Make room, then continue with "
            f"trainer.resume={folder.parent}"
        ) from err
    history = sorted(folder.glob("step-*.pt"))
    for old in history[: max(len(history) - max(keep, 1), 0)]:
        old.unlink(missing_ok=True)
    _fsync_dir(folder)
    return path


def last_good_checkpoint(folder: Path) -> str:
    """Where a stopped run can resume from, for error messages: "the last good checkpoint is
    FOLDER/last.pt", or "none was written yet"."""
    last = folder / "last.pt"
    return f"the last good checkpoint is {last}" if last.exists() else "none was written yet"


def resolve_checkpoint(path: str | Path, which: str = "last") -> Path:
    """A checkpoint file, or a run dir / its checkpoints folder -> ``checkpoints/{which}.pt``."""
    path = Path(path).expanduser()
    for candidate in (path, path / f"{which}.pt", path / "checkpoints" / f"{which}.pt"):
        if candidate.is_file():
            return candidate
    hint = ""
    if which != "last" and any((p / "last.pt").is_file() for p in (path, path / "checkpoints")):
        hint = "; it holds last.pt (no epoch had ended when it stopped?): use checkpoint=last"
    raise CheckpointError(
        f"no checkpoint at {path}: expected a .pt file, or a run dir holding "
        f"checkpoints/{which}.pt{hint}"
    )


def run_dir_of(path: str | Path) -> Path:
    """The run dir that ``path`` names: a run dir itself, its ``checkpoints`` folder, or a
    checkpoint file in that folder (a file elsewhere: the folder holding it)."""
    path = Path(path).expanduser()
    if path.is_file():
        path = path.parent
    return path.parent if path.name == "checkpoints" else path


def load_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``; refuse code payloads and unknown formats."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path}: refused to load: the file holds Python objects beyond tensors and plain "
            "containers (possibly code); only weights-only checkpoints are accepted"
        ) from err
    except (RuntimeError, EOFError, OSError) as err:
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({str(err).splitlines()[0]})"
        ) from err
    if not isinstance(state, dict) or "format_version" not in state:
        raise CheckpointError(f"{path}: not an aegan checkpoint (no format_version)")
    if state["format_version"] != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path}: checkpoint format {state['format_version']} is not supported "
            f"(this version reads format {CHECKPOINT_FORMAT})"
        )
    return state


def load_module_state(module: torch.nn.Module, state: dict, *, name: str, path: Path | str) -> None:
    """``load_state_dict`` with a one-line error that says which tensors differ."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own.keys() & state.keys()
        if hasattr(state[k], "shape") and state[k].shape != own[k].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        if mismatched:
            parts.append("shape differs: " + ", ".join(mismatched[:3]))
        if missing:
            parts.append("missing: " + ", ".join(missing[:3]))
        if unexpected:
            parts.append("unexpected: " + ", ".join(unexpected[:3]))
        raise CheckpointError(
            f"{path}: {name} weights do not fit the configured model ({'; '.join(parts)}); "
            "use the checkpoint's own config (aegan.load_run) or matching model overrides"
        )
    module.load_state_dict(state)
