"""The command line of ``python -m aegan.evaluate``, checked before the run is read: each
setting of ``conf/evaluate.yaml`` against what is allowed, a training setting given where
nothing would read it, the run's settings its ``overrides`` may change, and the folder its
log goes to (``log_dir_of``)."""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from aegan.cli.setting_walk import check_setting_values
from aegan.config import (
    CONF_DIR,
    check_evaluation_number,
    check_positive,
)
from aegan.engine.checkpoint import load_checkpoint, resolve_checkpoint, run_dir_of
from aegan.engine.device import resolve_device
from aegan.engine.run_dir import check_layout
from aegan.engine.run_record import stray_checkpoint
from aegan.errors import CheckpointError, ConfigError, refused_value, typed
from aegan.inert import evaluation_inert
from aegan.io.files import check_folder
from aegan.metrics.choice import check_metric_names
from aegan.metrics.inception import check_weights
from aegan.metrics.scope import EVALUATION_NUMBERS
from aegan.settings.overrides import given_overrides, override_key
from aegan.settings.schema import (
    check_not_deleted,
    check_own_keys,
    check_settings,
    hydra_choices,
    option_file,
    reference,
)
from aegan.signals.sweep_stops import sweep_process_id
from aegan.tasks.checks import check_choice, check_number

log = logging.getLogger("aegan.evaluate")


def check_evaluate_settings(cfg: DictConfig) -> None:
    """The command line's settings, before the run is read."""
    check_setting_values(cfg)  # run=??? when none is given; TensorBoard names no other bytes
    ref = option_file(str(Path(CONF_DIR) / "evaluate.yaml"))
    check_not_deleted(cfg, ref)
    check_settings(cfg, ref)
    check_own_keys(cfg, ref)  # +sample=100 would be ignored
    check_training_keys(cfg, ref)  # and so would +model.latent_dim=2
    if not isinstance(cfg.run, str) or not cfg.run.strip():
        raise ConfigError(
            f"run={'null' if cfg.run is None else repr(cfg.run)} is not allowed: it must be "
            "a run dir or checkpoint file"
        )
    check_choice("checkpoint", cfg.checkpoint, ("best", "last"))
    resolve_device(cfg.device, key="device")  # before the checkpoint is read
    check_folder("cache_dir", cfg.cache_dir)
    check_weights("inception_weights", cfg.inception_weights)
    check_number("samples", cfg.samples, low=10, high=10**7, integer=True)
    if cfg.iwae_samples is not None:
        check_number("iwae_samples", cfg.iwae_samples, low=1, high=10**6, integer=True)
    check_number("seed", cfg.seed, low=0, high=2**63 - 1, integer=True)
    if cfg.iwae_images is not None:
        check_number("iwae_images", cfg.iwae_images, low=1, high=10**7, integer=True)
    if cfg.metrics is not None:
        check_metric_names(cfg.metrics, key="metrics")
    if not OmegaConf.is_list(cfg.overrides):
        raise ConfigError(
            f"overrides={refused_value(cfg.overrides)} is not allowed: it must be a list"
        )
    for override in cfg.overrides:
        if not isinstance(override, str) or not override_key(override).strip():  # '', '=5'
            raise ConfigError(
                f"overrides: {refused_value(override)} is not allowed: an override is text, "
                "key=value"
            )
        key = override_key(override)
        if (key == "data" or key.startswith("data.")) and key not in WHERE_DATA_IS:
            raise ConfigError(  # its figures would go over the run's own in metrics.json
                f"overrides: {refused_value(override)} is not allowed: it changes the test data of the run's "
                f"figures; of data, only {', '.join(WHERE_DATA_IS)} may change"
            )
        if not (key == "model" or key.startswith("model.") or key.startswith("data.")
                or key in WHERE_DATA_IS + ("paths.data_dir",)):  # fmt: skip
            top = key.removeprefix("evaluate.")
            hint = f"; set {top}=... at the top level" if key.startswith("evaluate.") else ""
            hint = "; the evaluation's own random numbers: seed=... at the top level" if (
                key == "seed") else hint  # fmt: skip
            raise ConfigError(
                f"overrides: {refused_value(override)} is not allowed: an evaluation reads only the run's "
                f"model settings, {', '.join(WHERE_DATA_IS)} and paths.data_dir, so {key} "
                f"would change nothing{hint}"
            )


def warn_without_effect(names: Sequence[str]) -> None:
    """A warning for each setting of the command line that the metrics ``names`` do not
    read (``samples=100`` with ``metrics=[reconstruction]``), as training says of its own."""
    if not HydraConfig.initialized():  # called from Python (a notebook): no command line
        return
    inert = evaluation_inert(names)
    for override in given_overrides(HydraConfig.get()):
        if override_key(override) in inert:
            log.warning("%s has no effect: %s", override, inert[override_key(override)])


def evaluated_checkpoint(cfg: DictConfig) -> Path:
    """The checkpoint that ``run`` and ``checkpoint`` name, before its weights are read: one
    there, a run folder's own (the figures of another run's file left in a folder would go
    into that run's metrics.json), that folder's files and folders of their kinds."""
    checkpoint = resolve_checkpoint(cfg.run, cfg.checkpoint)
    stray = stray_checkpoint(checkpoint)
    if stray is not None:
        load_checkpoint(checkpoint)  # a run's other file (metrics.json) is no checkpoint first
        raise CheckpointError(
            f"run={cfg.run}: {stray}; copy it into a folder of its own to evaluate it there"
        )
    check_layout(run_dir_of(checkpoint))
    return checkpoint


def run_arguments(cfg: DictConfig, searchpath: Sequence[str]) -> dict[str, Any]:
    """How ``aegan.evaluate`` reads its run: ``load_run``'s arguments, which ``open_run``
    checks before the data (an evaluation sweep's, for every job before the first)."""
    # as typed: composed again as a training command line's, their escapes (\${) still hold
    given = [str(o) for o in OmegaConf.to_container(cfg.overrides, resolve=False)]
    return {"path": cfg.run, "checkpoint": cfg.checkpoint, "device": cfg.device,
            "overrides": given, "searchpath": list(searchpath), "metrics": cfg.metrics,
            "changed_data": "refuse",  # figures of other images would be written as the run's
            "figures": False}  # fmt: skip


def check_training_keys(cfg: DictConfig, ref: dict[str, Any]) -> None:
    """Refuse a training setting added here (``+model.latent_dim=2``, ``+evaluate.samples=100``):
    nothing would read it. This command's own settings are top-level (``samples=100``); the
    run's own change through ``overrides``."""
    training = reference(CONF_DIR, {})  # train.yaml's keys, each group's default option
    for key in cfg:
        if key in ref or key not in training:
            continue
        node = hydra_choices().get(key) or cfg[key]  # +model=vae: the option, not its keys
        node = OmegaConf.to_container(node, resolve=False) if OmegaConf.is_config(node) else node
        while isinstance(node, dict) and node:  # the first setting it holds
            name = next(iter(node))
            key, node = f"{key}.{name}", node[name]
        value, last = typed(node), key.rpartition(".")[2]
        raise ConfigError(
            f"{key} is not a setting of aegan.evaluate; did you mean {last}={value}?"
            if last in ref and last != key
            else f"{key} is a training setting, which aegan.evaluate would not read; to "
            f"evaluate the run with it changed: overrides='[\"{key}={value}\"]'"
        )


# Where the run's data is read from and in what batches: the test images stay the same.
WHERE_DATA_IS = ("data.root", "data.download", "data.batch_size")


def with_run_iwae(
    cfg: DictConfig, run_config: DictConfig, where: Path | str, test_images: int | None = None
) -> list[str]:
    """Fill ``iwae_samples`` and ``iwae_images`` left null with the run's own (its record's
    ``evaluate.*``, plain values checked here as the command line's are): the bound is
    measured again as the figures beside it were, and a conv VAE's recipe (k=100 on 1,000
    images) is not silently run at k=1000 on all 10,000, hours on a CPU. Returns the keys
    filled; ``where``: the record's file, named if a value there cannot be used. A record's
    image count above the ``test_images`` there are (a run that skipped its own evaluation)
    is all of them, as the user cannot set it back to the run's own any other way."""
    own = run_config.get("evaluate") or {}
    filled = []
    with open_dict(cfg):
        for key, default in (("iwae_samples", 1000), ("iwae_images", None)):
            if cfg[key] is not None:
                continue
            cfg[key] = own.get(key, default)
            filled.append(key)
    if "iwae_images" in filled and test_images is not None:
        beyond = isinstance(cfg.iwae_images, int) and cfg.iwae_images > test_images
        cfg.iwae_images = None if beyond else cfg.iwae_images
    try:
        for key in ("iwae_samples", "iwae_images"):  # aegan.evaluate's own keys
            low, high = EVALUATION_NUMBERS[key]
            if cfg[key] is not None or key == "iwae_samples":
                check_number(key, cfg[key], low=low, high=high, integer=True)
    except ConfigError as err:
        if not filled:
            raise
        raise CheckpointError(
            f"{where}: its record's evaluate settings cannot be used ({err}); give "
            "iwae_samples=K and iwae_images=N on the command line"
        ) from None
    return filled


def run_projector_samples(run_config: DictConfig, where: Path | str) -> int:
    """The test images whose codes the projector shows for the weights measured: the run's
    own ``logger.projector_samples`` (none where its logger is off), checked as training
    checks it; a record's value no run could have is said and none are shown (-1 showed
    every test image but the last). ``where``: the record's file."""
    if not run_config.logger.enabled:
        return 0
    try:
        check_positive(run_config, "logger.projector_samples", minimum=0)
    except ConfigError as err:
        log.warning("%s: its record's %s; the projector shows no codes of these weights",
                    where, err)  # fmt: skip
        return 0
    return run_config.logger.projector_samples


def settle_run_evaluation(run_config: DictConfig, conf: dict, where: Path | str) -> None:
    """The record's ``evaluate.samples`` and ``evaluate.seed``, which a reader of the run
    takes as its own evaluation's (a notebook's ``Settings.of(run.config.evaluate)``),
    checked as training checks them; one no run could have had is said in one line and
    conf/'s (``conf``) taken: samples=-1 held out one training image fewer than none for
    the domain classifier, without a word. ``where``: the record's file."""
    for key in ("samples", "seed"):
        try:
            check_evaluation_number(run_config.evaluate, key)
        except ConfigError as err:
            taken = conf["evaluate"][key]
            log.warning("%s: its record's %s; conf/'s %s is taken", where, err, taken)
            run_config.evaluate[key] = taken


def own_scratch() -> Path:
    """This user's folder for what ``aegan.evaluate`` writes outside a run (the log of a
    mistyped ``run``, a sweep's ``multirun.yaml``): ``TMPDIR/aegan-evaluate-UID``, made mode
    0700. One shared by every user was another's to write in (a permission error), and a
    folder of another user's there would hold submitit's pickles, which it loads back."""
    folder = Path(tempfile.gettempdir()) / f"aegan-evaluate-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
            folder.chmod(0o700)  # this user's alone, as made
            return folder
        what = "a link" if stat.S_ISLNK(info.st_mode) else "not a folder"
        what = f"owned by uid {info.st_uid}" if info.st_uid != os.getuid() else what
    except OSError as err:
        what = f"not usable ({err.strerror or err})"
    raise ConfigError(
        f"TMPDIR={tempfile.gettempdir()}: {folder}, aegan.evaluate's scratch folder for uid "
        f"{os.getuid()}, is {what}; it must be a folder of this user's: remove it, or set "
        "TMPDIR to a folder of yours"
    )


def sweep_dir() -> str:
    """``hydra.sweep.dir`` of ``aegan.evaluate -m``: a folder of the launching process's in
    ``own_scratch``, the same in its workers: two sweeps at once wrote one multirun.yaml."""
    return str(own_scratch() / f"sweep-{sweep_process_id()}")


def log_dir_of(run: object) -> str:
    """``hydra.run.dir`` of ``aegan.evaluate``: the run dir that ``run`` names (``run`` may be
    a checkpoint file). Any other value gets a scratch folder instead (``own_scratch``), so
    that a mistyped path is neither created nor written into before the error that names
    it. Raises only for that folder: Hydra resolves this before ``check_evaluate_settings``
    can name what is wrong with ``run``."""
    if not isinstance(run, str) or not run.strip():  # run=5, run=null, run=[1,2], run=''
        return str(own_scratch())
    try:
        run_dir, given = run_dir_of(run), Path(run).expanduser()
        is_run = given.is_file() or (run_dir / "checkpoints").is_dir()
        stray = given.is_file() and stray_checkpoint(given) is not None  # refused: not its run
    except Exception:  # a name too long, a folder not allowed, a NUL byte, ~nosuchuser
        return str(own_scratch())
    return str(run_dir) if is_run and not stray else str(own_scratch())


OmegaConf.register_new_resolver("aegan.evaluate_log_dir", log_dir_of, replace=True)
OmegaConf.register_new_resolver("aegan.evaluate_sweep_dir", sweep_dir, replace=True)
