"""The run folder at the start of training: that it can take checkpoints, and the checkpoint
to continue from (``trainer.resume``: ``auto`` finds the folder's own last one, and
continues it only if it is this run; a path continues that one, if it is this model)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from itertools import islice
from pathlib import Path

from omegaconf import DictConfig

from aegan.engine.checkpoint import load_checkpoint, remove_killed_saves, resolve_checkpoint
from aegan.engine.folder_lock import train_elsewhere
from aegan.engine.run_record import earlier_run, saved_choice, step_checkpoints, trained_run_holding
from aegan.engine.run_settings import optimizer_sections, resumable
from aegan.errors import CheckpointError, ConfigError, typed
from aegan.logger import flatten_config
from aegan.path_kinds import leads_to, path_kind
from aegan.readback import shown_value

log = logging.getLogger("aegan.train")  # these lines belong to the training run's log

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
        path = run_dir / name
        if os.path.lexists(path) and path.is_dir() != is_folder:
            wanted, found = ("a folder", "not a folder") if is_folder else ("a file", "a folder")
            raise ConfigError(f"{path} is {found}, where a run keeps {wanted}: move it away")
        if path.is_symlink() and (is_folder or name.startswith(".hydra/")):
            target = path.resolve()
            other = trained_run_holding(target)
            if other is not None and other != run_dir.resolve():
                raise ConfigError(
                    f"{path} is a link to {target}, inside the trained run {other}: this run "
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
        raise ConfigError(_no_last_checkpoint(run_dir, last))
    own = resume and resolve_checkpoint(resume).resolve().parent  # a link to another disk too
    if own == (run_dir / "checkpoints").resolve():  # continued from a checkpoint of its own
        return
    raise ConfigError(
        f"{run_dir} already holds a trained run ({earlier.relative_to(run_dir)}); continue it "
        f"with trainer.resume=auto (or one of its checkpoints){train_elsewhere(key)}"
    )


def _no_last_checkpoint(run_dir: Path, last: Path) -> str:
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


# What trainer.resume=auto requires to match, most telling first: what the run trains
SAME_RUN_PREFIXES = ("model.", "data.", "seed")
SAME_RUN_IGNORED = ("data.root", "data.download")


def check_same_run(
    state: dict, record: dict, checkpoint: Path, folder_key: str = "hydra.run.dir"
) -> None:
    """``trainer.resume=auto`` continues only the run it finds in the run dir: with another
    model, data or seed settings (a reused folder, another sweep's job) it stops, naming
    ``folder_key`` as the setting to change."""
    saved_choices = state.get("choices", {})
    for group in ("model", "data"):
        if saved_choices.get(group) != record["choices"][group]:
            raise ConfigError(
                f"trainer.resume=auto: {checkpoint} is a run {saved_choice(state, group)}, "
                f"not {group}={record['choices'][group]}; choose another {folder_key}"
            )
    before = flatten_config(state["config"], as_text=False)
    now = flatten_config(record["config"], as_text=False)
    keys = sorted(
        key for key in before.keys() | now.keys()
        if key.startswith(SAME_RUN_PREFIXES) and key not in SAME_RUN_IGNORED
        and before.get(key) != now.get(key)
    )  # fmt: skip
    if keys:
        shown = ", ".join(
            f"{k}={_as_typed(before, k)} there, {_as_typed(now, k)} here" for k in keys[:3]
        )
        # "continue it anyway" only where a resume may change each (no other sizes or loss)
        optimizers = optimizer_sections(state["config"]) | optimizer_sections(record["config"])
        anyway = f", or trainer.resume={checkpoint} to continue it anyway" * all(
            resumable(k, optimizers) for k in keys)  # fmt: skip
        raise ConfigError(
            f"trainer.resume=auto: {checkpoint} was trained with other settings ({shown}); "
            f"choose another {folder_key}{anyway}"
        )


def _as_typed(settings: dict, key: str) -> str:
    """A setting as typed on the command line (null, true, [1, 2]), or "unset" if none."""
    return typed(settings[key]) if key in settings else "unset"


def resume_state(
    cfg: DictConfig,
    run_dir: Path,
    record: dict,
    folder_key: str = "hydra.run.dir",
    found: Callable[[dict], None] | None = None,
) -> tuple[dict, Path] | None:
    """The checkpoint to continue from (``trainer.resume``), or None; ``folder_key``: the
    setting that chose ``run_dir``, named where ``auto`` finds another run there; ``found``
    is given the state ``auto`` finds before it is held to ``record``."""
    if cfg.trainer.resume == "auto":
        path = run_dir / "checkpoints" / "last.pt"
        if not path.is_file():
            log.info("trainer.resume=auto: no %s yet, starting from scratch", path)
            return None
        state = load_checkpoint(path)
        if found is not None:
            found(state)
        check_same_run(state, record, path, folder_key)
        check_epochs_left(cfg.trainer.epochs, state, path)
        return state, path
    if cfg.trainer.resume:
        path = resolve_checkpoint(cfg.trainer.resume)
        state = load_checkpoint(path)
        check_resumed_model(state, record["choices"]["model"], path)
        check_epochs_left(cfg.trainer.epochs, state, path)
        trained_seed = state["config"].get("seed")
        if trained_seed != cfg.seed:  # the random state is the checkpoint's, not seed's
            log.warning("seed=%s is not used: a resumed run goes on with the random state of "
                        "%s (trained with seed=%s)", cfg.seed, path,
                        shown_value(trained_seed))  # fmt: skip
        return state, path
    return None


def check_epochs_left(epochs: int, state: dict, path: Path) -> None:
    """``trainer.epochs`` of a resume is no fewer than ``path`` has done (at its count, a
    finished run is evaluated again): fewer trained nothing, said "epoch 2/1", and recorded
    the run as one of ``epochs``."""
    done, batch = state["epoch"], state["batch"]
    if epochs < done or (epochs == done and batch > 0):
        least = done + (batch > 0)
        raise ConfigError(
            f"trainer.epochs={epochs} is not allowed: {path} has done {done} epoch"
            f"{'s' * (done != 1)}{' and part of the next' * (batch > 0)}; continue it with "
            f"trainer.epochs={least} or more"
        )


def check_resumed_model(state: dict, model: str, path: Path) -> None:
    """A checkpoint given as ``trainer.resume`` is of ``model`` (the option's name)."""
    saved = state["choices"].get("model")
    if saved != model:  # before the data is read: its weights cannot fit this model
        named = isinstance(saved, str)
        raise CheckpointError(
            f"{path}: a checkpoint {saved_choice(state, 'model')}, "
            f"{'not' if named else 'so not known to be of'} model={model}; "
            f"{f'resume it with model={saved}, or ' if named else ''}start this run without "
            "trainer.resume"
        )
