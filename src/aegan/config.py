"""The composed config: its schema and the check before any work.

``validate_config`` builds every part once without data (the task on the ``meta`` device,
the precision, the speed switches, the metrics), so each setting is checked by the code
that uses it, before any weight is allocated; it keeps only the checks that span groups.
Last, it reads the local data files (``aegan.data.read_ahead``): the run takes them.
A run's record back to a config, the trust boundary, is ``aegan.runs.record``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobRuntime
from omegaconf import DictConfig, OmegaConf

import aegan.cli.hydra_files  # noqa: F401  (each config file checked as Hydra loads it)
from aegan.amp import Amp
from aegan.cli.hydra_dirs import check_run_paths
from aegan.cli.hydra_errors import hydra_error_line
from aegan.cli.setting_walk import check_setting_values
from aegan.cli.value_origins import naming_setting
from aegan.data import (
    DataSizes,
    check_data_config,
    image_shape_of,
    read_ahead,
    sizes_of,
)
from aegan.engine.checkpoint import resolve_checkpoint
from aegan.engine.device import available_cores, resolve_device
from aegan.engine.distributed import check_shards, world_size
from aegan.errors import ConfigError, not_text, refused_value
from aegan.inert import warn_inert
from aegan.memory import check_memory
from aegan.metrics.choice import check_metrics, check_metrics_before_data
from aegan.metrics.inception import check_weights
from aegan.metrics.scope import EVALUATION_NUMBERS, Settings
from aegan.settings.overrides import given_overrides, no_key, searchpath_override
from aegan.settings.schema import (
    CONF_DIR,
    GROUPS,
    check_not_deleted,
    check_option_names,
    check_own_keys,
    check_settings,
    option_choices,
    option_file,
    reference,
)
from aegan.settings.value_kinds import check_texts, unquoted_hint
from aegan.speed import check_switches
from aegan.tasks.build import build_task
from aegan.tasks.checks import check_choice, check_number

ON_NONFINITE = ("stop", "skip")
# validation images an objective needs: a Frechet distance's covariance needs two
VALIDATION_IMAGES = {"val/pixel_fd": (2, "a Frechet distance: a covariance of pooled pixels")}


@dataclass
class TrainerSchema:
    """The keys of ``cfg.trainer`` (conf/trainer/default.yaml holds the values).

    Each is ``Any``: OmegaConf's types convert what they are given, its integer type text
    (``epochs='1'``, where ``seed='1'`` is refused), its bool type any integer
    (``channels_last=-1`` as true), its text type any value (``resume=true`` as a folder
    named True); ``check_settings`` holds them to the kind ``conf/`` gives them, as in the
    other groups."""

    epochs: Any = 30
    device: Any = "auto"  # null: refused by the checks, which list the choices
    precision: Any = "fp32"
    cpu_threads: Any = None
    eval_batch_size: Any = None
    checkpoint_every_steps: Any = 0
    keep_checkpoints: Any = 2
    resume: Any = None  # null in conf/: its own check holds it to text
    sync_batchnorm: Any = False
    on_nonfinite: Any = "stop"
    channels_last: Any = False
    compile: Any = "none"
    compile_scope: Any = "network"
    capture_step: Any = False
    cudnn_benchmark: Any = True
    fast_dropout: Any = True
    flush_denormal: Any = True
    pad_thin_convs: Any = False
    direct_optimizer_step: Any = True


ConfigStore.instance().store(group="trainer", name="schema", node=TrainerSchema)


def check_positive(
    cfg: DictConfig, key: str, *, allow_none: bool = False, minimum: int = 1,
    maximum: int = 2**31 - 1,
) -> None:  # fmt: skip
    """Raise ``ConfigError`` unless ``cfg``'s ``key`` is an integer in [``minimum``,
    ``maximum``] (or null)."""
    value = OmegaConf.select(cfg, key)
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        allowed = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    elif value > maximum:
        allowed = f"an integer in [{minimum}, {maximum}]"
    else:
        return
    raise ConfigError(
        f"{key}={refused_value(value)} is not allowed: it must be {allowed}{' or null' if allow_none else ''}"
        + unquoted_hint(key, value, 0)
    )


def validate_config(
    cfg: DictConfig, *, entry: str = "train", in_job: bool = True, read_data: bool = True
) -> None:
    """Raise ``ConfigError`` for the first setting that cannot work, before any work;
    ``entry``: the config it was composed from (``train``, ``bench``). ``in_job=False``: a
    config checked before Hydra runs it (``aegan.sweep_checks.jobs``), whose folder Hydra has not
    chosen yet and whose warnings its job gives. ``read_data=False``: the data files are
    left to the process that trains on them, which reads them before its first job."""
    if not isinstance(cfg, DictConfig):  # train(cfg) in a notebook: None, a dict, overrides
        raise ConfigError(
            f"cfg of type {type(cfg).__name__} is not allowed: it must be the config composed "
            "from conf/, a DictConfig: aegan.config.compose_config([overrides...])"
        )
    for group in GROUPS:
        if group not in cfg:  # deleted on the command line: ~model
            options = sorted(path.stem for path in (Path(CONF_DIR) / group).glob("*.yaml"))
            raise ConfigError(
                f"{group} is not set (deleted with ~{group}?); choose one with {group}=..., "
                f"one of: {', '.join(options)}"
            )
    check_setting_values(cfg)
    ref = reference(CONF_DIR, option_choices(cfg, CONF_DIR))
    own = {**ref, **option_file(str(Path(CONF_DIR) / f"{entry}.yaml"))}  # bench's steps, ...
    check_not_deleted(cfg, own)  # ~precisions: bench's own keys too
    check_settings(cfg, ref)
    check_own_keys(cfg, own)
    check_option_names(cfg)
    check_number("seed", cfg.seed, low=0, high=2**63 - 1, integer=True)
    check_run_paths(cfg, in_job=in_job)
    check_data_config(cfg.data)
    if (subset := cfg.data.get("subset")) is not None:  # each process's batches, before reading
        check_shards(cfg.data.batch_size, world_size(), subset, f" in data.subset={subset}")
    trainer = cfg.trainer
    check_positive(cfg, "trainer.epochs", maximum=10**6)
    for key in ("trainer.keep_checkpoints", "logger.log_every_steps"):
        check_positive(cfg, key)
    check_positive(cfg, "trainer.checkpoint_every_steps", minimum=0)
    check_positive(cfg, "trainer.eval_batch_size", allow_none=True)
    check_positive(cfg, "logger.projector_samples", minimum=0)
    check_positive(cfg, "trainer.cpu_threads", allow_none=True)
    cores = available_cores()
    if trainer.cpu_threads and trainer.cpu_threads > 4 * cores:
        raise ConfigError(
            f"trainer.cpu_threads={trainer.cpu_threads} is not allowed: this machine has "
            f"{cores} cores; use at most {4 * cores}"
        )
    check_choice("trainer.on_nonfinite", trainer.on_nonfinite, ON_NONFINITE)
    device = resolve_device(trainer.device)
    Amp(trainer.precision, device)
    if trainer.sync_batchnorm and device.type != "cuda":
        raise ConfigError(
            "trainer.sync_batchnorm=true needs CUDA (SyncBatchNorm has no CPU kernel)"
        )
    resume = trainer.resume
    if resume is not None and not (isinstance(resume, str) and resume.strip()):
        allowed = "a checkpoint file, a run dir, auto or null"  # '': would start afresh
        raise ConfigError(not_text("trainer.resume", resume, allowed))
    if trainer.resume and trainer.resume != "auto":
        with naming_setting("trainer.resume", trainer.resume):
            resolve_checkpoint(trainer.resume)  # raises CheckpointError naming the path
    task = build_task(cfg.model, image_shape_of(cfg.data), torch.device("meta"))
    check_memory(task, device, cfg.model)
    check_switches(trainer, task, device, world_size())
    check_validation(task, cfg.data)
    check_batch_norm(task, cfg.data.batch_size)
    # an image folder listed (once), not read: before its run's folder
    sizes = check_evaluation(cfg.evaluate, task, cfg.data) or sizes_of(cfg.data)
    task.check_data(sizes)  # its class count, known before reading: a labelled prior's
    check_generator_steps(task, trainer.epochs * _steps_per_epoch(cfg.data, sizes.train))
    # last, as it may take minutes: a damaged file refused before the run's folder is made
    trained = read_ahead(cfg.data, cfg.paths.data_dir) if read_data else None
    if trained is not None and cfg.data.root:  # it may hold fewer images than the named set
        check_shards(cfg.data.batch_size, world_size(), trained, f" in data.root={cfg.data.root}")
    if in_job and entry == "train" and HydraConfig.initialized():  # the command line's own
        warn_inert(cfg, task, given_overrides(HydraConfig.get()))


def check_validation(task: Any, data_cfg: DictConfig) -> None:
    """Refuse a validation split too small for the task's objective (it picks best.pt)."""
    needed, why = VALIDATION_IMAGES.get(task.objective, (1, ""))
    if data_cfg.val_size < needed:
        raise ConfigError(
            f"data.val_size={data_cfg.val_size} is too small for {task.name}: its validation "
            f"objective {task.objective} ({why}) needs at least {needed} validation images; "
            f"use data.val_size >= {needed}"
        )


def check_batch_norm(task: Any, batch_size: int) -> None:
    """Refuse batches of one image for a task whose networks hold BatchNorm: in training it
    needs more than one value per channel, and the DCGAN generator's, after a linear layer,
    has one per image: the first step failed, after the run's folder was made."""
    if batch_size != 1:
        return
    for name, network in task.networks.items():
        for part, module in network.named_modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                where = f"{name}.{part}" if part else name
                raise ConfigError(
                    f"data.batch_size=1 is not allowed for {task.name}: its {where} is a "
                    "BatchNorm layer, which trains on the statistics of more than one image a "
                    "batch; use data.batch_size >= 2"
                )


def _steps_per_epoch(data_cfg: DictConfig, train_images: int | None) -> int | None:
    return None if train_images is None else train_images // (data_cfg.batch_size * world_size())


def check_generator_steps(task: Any, steps: int | None) -> None:
    """A GAN's G steps once every ``model.n_critic`` batches: a run of fewer would train D
    alone, and its samples would be the untrained G's."""
    n_critic = getattr(task, "n_critic", 1)
    if steps is not None and steps < n_critic:
        raise ConfigError(
            f"model.n_critic={n_critic} is not allowed with {steps} training steps (trainer."
            f"epochs x the data's batches): G steps once every n_critic batches, so it would "
            f"never train; use model.n_critic <= {steps}, or more epochs"
        )


def check_evaluation_number(evaluate_cfg: DictConfig, key: str) -> None:
    """``evaluate.KEY`` within ``EVALUATION_NUMBERS``, or ``ConfigError`` naming it."""
    value, (low, high) = evaluate_cfg.get(key), EVALUATION_NUMBERS[key]
    if value is not None or key != "iwae_images":
        check_number(f"evaluate.{key}", value, low=low, high=high, integer=True)


def check_evaluation(evaluate_cfg: DictConfig, task: Any, data_cfg: DictConfig) -> DataSizes | None:
    """``evaluate.*``: known metrics this task can give, a positive sample count, and for
    the evaluation at the end, each metric's own limits on ``data_cfg``'s images (SSIM's
    image size, IWAE's cost) and on the splits' sizes (a covariance needs two images);
    returns those sizes where it looked them up."""
    check_metrics(task, evaluate_cfg.metrics)
    for key in EVALUATION_NUMBERS:
        check_evaluation_number(evaluate_cfg, key)
    check_weights("evaluate.inception_weights", evaluate_cfg.inception_weights)
    if evaluate_cfg.at_end:  # aegan.evaluate checks them again on the run it reads
        settings = Settings.of(evaluate_cfg)
        return check_metrics_before_data(task, evaluate_cfg.metrics, settings, data_cfg)
    return None


def compose_config(
    overrides: list[str], *, config_name: str = "train", searchpath: list[str] = (),
    config_dir: str = CONF_DIR,
) -> DictConfig:  # fmt: skip
    """``config_dir``'s ``{config_name}.yaml`` with ``overrides``, as a command line's."""
    check_texts(overrides=overrides, searchpath=searchpath)
    extra = [searchpath_override(searchpath)] if searchpath else []
    app = GlobalHydra.instance().hydra  # inside a Hydra app (aegan.evaluate, a sweep's check)
    # the app's job name (its NAME.log), which compose sets to "app" for the jobs composed next
    job_name = JobRuntime.instance().get("name")
    GlobalHydra.instance().clear()  # a fresh one for this config
    try:
        with initialize_config_dir(config_dir=config_dir, version_base="1.3"):
            return compose(config_name=config_name, overrides=[*overrides, *extra])
    except Exception as err:  # what Hydra refuses (a misspelt key, "=3"): one line
        if (line := hydra_error_line(err) or no_key(overrides)) is None:
            raise
        raise ConfigError(line) from None
    finally:  # the app's own back, for what it composes next (a sweep's jobs)
        JobRuntime.instance().set("name", job_name)
        GlobalHydra.instance().clear()
        if app is not None:
            GlobalHydra.instance().initialize(app)
