"""Checkpoint files: atomic writes, a kept history, safe (weights-only) loading, and the
state a resume restores (weights, optimizers, scaler, RNG, the task's counters).

A checkpoint holds tensors and plain containers only: ``torch.load(weights_only=True)``
refuses anything else, and nothing in it names code. Its ``config`` and ``choices`` say
which options of ``conf/`` the run composed; ``aegan.config.record_config`` rebuilds
from them (the trust boundary).
"""

from __future__ import annotations

import math
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from aegan.contract import Task
from aegan.errors import CheckpointError
from aegan.files import atomic_save, fsync_dir

# 2: networks under "networks", the EMA generator a plain module, the composed options
# under "choices". Format 1 files are read through ``_upgrade_format_1``.
CHECKPOINT_FORMAT = 2
REQUIRED_KEYS = {
    "config": dict, "choices": dict, "epoch": int, "batch": int, "step": int,
    "best_objective": float, "history": list, "networks": dict, "optimizers": dict,
    "scaler": dict, "task": dict, "rng": dict,
}  # fmt: skip


@dataclass
class Progress:
    """Where a run stands; saved in every checkpoint."""

    epoch: int = 0  # epochs fully done
    batch: int = 0  # batches done in the current epoch
    step: int = 0  # optimisation steps done in all
    best_objective: float = math.inf
    history: list[dict[str, float]] = field(default_factory=list)  # validation per epoch


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
    fsync_dir(folder)
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


def _check_archive(path: Path) -> None:
    """A file that starts as a zip archive (what ``torch.save`` writes) must be a whole one:
    a cut or damaged archive is named as such before torch parses it, whose bytes could then
    read as anything, a pickle naming globals included."""
    try:
        with path.open("rb") as handle:
            if handle.read(4) != b"PK\x03\x04":
                return  # not an archive: torch's own errors name what it is
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()  # reads every member against its CRC
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as err:
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
        raise CheckpointError(
            f"{path}: not a readable checkpoint (a cut or damaged archive: {reason})"
        ) from None
    if damaged is not None:
        raise CheckpointError(
            f"{path}: not a readable checkpoint (a cut or damaged archive: {damaged[:120]} "
            "fails its checksum)"
        )


def load_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``; refuse code payloads, unknown formats
    and files missing what a checkpoint holds, in one line naming the file."""
    path = Path(path)
    _check_archive(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
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
    if state["format_version"] == 1:
        state = _upgrade_format_1(state)
    if state["format_version"] != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path}: checkpoint format {state['format_version']!r} is not supported "
            f"(this version reads formats 1 and {CHECKPOINT_FORMAT})"
        )
    for key, kind in REQUIRED_KEYS.items():
        value = state.get(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            what = (
                "missing"
                if key not in state
                else f"a {type(value).__name__}, not a {kind.__name__}"
            )
            raise CheckpointError(f"{path}: not a usable checkpoint: {key} is {what}")
    if min(state["step"], state["epoch"], state["batch"]) < 0:
        raise CheckpointError(f"{path}: not a usable checkpoint: a negative step, epoch or batch")
    if not all(_is_metrics(entry) for entry in state["history"]):
        raise CheckpointError(
            f"{path}: not a usable checkpoint: history is not a list of metrics by name"
        )
    return state


def _is_metrics(entry: Any) -> bool:
    """``{"val/mse": 0.01, ...}``: what each epoch's validation left in ``history``."""
    return isinstance(entry, dict) and all(
        isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
        for k, v in entry.items()
    )


def _upgrade_format_1(state: dict) -> dict:
    """A format-1 checkpoint in format 2: weights under "networks", the EMA generator's
    keys without ``AveragedModel``'s "module." prefix and counter, the choices inferred."""
    networks = dict(state.pop("modules", {}))
    ema = networks.get("generator_ema")
    if isinstance(ema, dict):
        networks["generator_ema"] = {
            k.removeprefix("module."): v for k, v in ema.items() if k != "n_averaged"
        }
    config = state.get("config") or {}
    task = (config.get("model") or {}).get("task") if isinstance(config, dict) else None
    model = {"autoencoder": "autoencoder", "gan": "dcgan"}.get(task, str(task))
    data = (config.get("data") or {}).get("name") if isinstance(config, dict) else None
    return {**state, "format_version": 2, "networks": networks,
            "choices": {"model": model, "data": str(data)}}  # fmt: skip


def load_network_state(
    network: torch.nn.Module, state: Any, *, name: str, path: Path | str
) -> None:
    """``load_state_dict`` with a one-line error that says which tensors differ, and a
    refusal of weights that are not finite."""
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError(f"{path}: {name} weights are not a state_dict of tensors")
    own = network.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own.keys() & state.keys()
        if state[k].shape != own[k].shape
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
    nonfinite = [k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()]
    if nonfinite:
        raise CheckpointError(
            f"{path}: {name} weights are not finite ({', '.join(nonfinite[:3])} hold NaN or inf); "
            "use an earlier checkpoint (checkpoint=best, or a step-*.pt)"
        )
    network.load_state_dict(state)


# ---- what a resume restores ----------------------------------------------------------


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def checkpoint_state(task: Task, amp: Any, progress: Progress, record: dict) -> dict[str, Any]:
    """Everything a resume needs, as tensors and plain containers (loadable weights-only).
    ``record``: the run's resolved config and its config choices (plain values)."""
    return {
        **record,
        "epoch": progress.epoch,
        "batch": progress.batch,
        "step": progress.step,
        "best_objective": progress.best_objective,
        "history": progress.history,
        "networks": {name: m.state_dict() for name, m in task.networks.items()},
        "optimizers": {name: o.state_dict() for name, o in task.optimizers.items()},
        "scaler": amp.state_dict(),
        "task": task.extra_state(),
        "rng": _rng_state(),
    }


SPEED_FLAGS = ("capturable", "fused", "foreach")  # how this run steps, not what was learned


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """``optimizer.load_state_dict(state)``, keeping this run's ``SPEED_FLAGS`` (torch would
    take the checkpoint's): a run resumed with other speed switches (``capture_step``, the
    CPU after CUDA graphs, fused Adam or not) steps as configured, with its step counters
    moved where those flags keep them (on the parameters' device when capturable or fused)."""
    flags = [{k: group[k] for k in SPEED_FLAGS if k in group} for group in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, kept in zip(optimizer.param_groups, flags, strict=True):
        group.update(kept)
        on_device = bool(group.get("capturable") or group.get("fused"))
        for param in group["params"]:
            param_state = optimizer.state.get(param, {})
            if torch.is_tensor(param_state.get("step")):
                device = param.device if on_device else torch.device("cpu")
                param_state["step"] = param_state["step"].to(device, torch.float32)


def restore(task: Task, amp: Any, state: dict[str, Any], *, path: Path | str) -> Progress:
    """Load a checkpoint's weights, optimizer and scaler state and RNG into a built task."""
    load_weights(task, state, path=path)
    for name, optimizer in task.optimizers.items():
        if name not in state["optimizers"]:
            raise CheckpointError(f"{path}: no optimizer state for {name!r}")
        try:
            load_optimizer_state(optimizer, state["optimizers"][name])
        except (ValueError, KeyError, TypeError) as err:
            raise CheckpointError(
                f"{path}: the {name} optimizer state does not fit ({err})"
            ) from err
    try:
        amp.load_state_dict(state["scaler"])
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as err:
        raise CheckpointError(f"{path}: its gradient scaler state is not usable ({err!r})") from err
    try:
        task.load_extra_state(state["task"])
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise CheckpointError(f"{path}: the task state does not fit this model ({err!r})") from err
    try:
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    except (KeyError, TypeError, RuntimeError) as err:
        raise CheckpointError(f"{path}: its random number state is not usable ({err!r})") from err
    return Progress(
        epoch=state["epoch"], batch=state["batch"], step=state["step"],
        best_objective=float(state["best_objective"]), history=list(state["history"]),
    )  # fmt: skip


def load_weights(task: Task, state: dict[str, Any], *, path: Path | str) -> None:
    """Every network's weights from a checkpoint, after checking it is of this model."""
    wanted, saved = set(task.networks), set(state["networks"])
    if wanted != saved:
        model = state.get("choices", {}).get("model", "?")
        raise CheckpointError(
            f"{path}: a checkpoint of model={model} (networks {', '.join(sorted(saved))}); "
            f"this model has {', '.join(sorted(wanted))}"
        )
    for name, network in task.networks.items():
        load_network_state(network, state["networks"][name], name=name, path=path)
