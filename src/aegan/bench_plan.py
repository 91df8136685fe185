"""What ``aegan.bench`` times: its configurations (variant x precision x compile mode and
scope x capture x channels_last x threads) built from ``conf/bench.yaml``, each setting checked
before anything is timed, as the command line checks a run's: ``variants`` a mapping of names
to ``key=value`` overrides of settings the config has (``+key=value`` adds one, ``++key``
sets either), each list setting values its trainer setting takes."""

from __future__ import annotations

import contextlib
import copy
import itertools
import re
from collections.abc import Iterator
from typing import Any

import torch
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigKeyError, ConfigTypeError, ValidationError

from aegan.amp import resolve_precision
from aegan.bench_ignored import check_not_ignored
from aegan.bench_lists import TIMED_BY_LIST, check_lists, plain, timed_values
from aegan.config import check_positive, validate_config
from aegan.data import image_shape_of
from aegan.engine.device import resolve_device
from aegan.engine.distributed import world_size
from aegan.errors import ConfigError, refused_value
from aegan.settings.override_size import too_large
from aegan.speed import cpu_threads
from aegan.speed.capture import WARMUP_STEPS
from aegan.tasks import build_task

_ABSENT = object()
OVERRIDE = re.compile(r"(\+{0,2})([A-Za-z_][\w-]*(?:\.[\w-]+)*)=(.*)", re.DOTALL)


def parse_override(cfg: DictConfig, override: Any, where: str) -> tuple[str, str, Any]:
    """(prefix, key, value) of a ``key=value`` override, checked as the command line checks
    it: ``key`` must be a setting of ``cfg``, ``+key`` adds one that is not, ``++key`` sets
    either; the value is read as the command line reads it (1, 1e-3, true, [a,b])."""
    match = OVERRIDE.fullmatch(override) if isinstance(override, str) else None
    if match is None:
        raise ConfigError(
            f"{where}: {refused_value(override)} is not allowed: an override is key=value (+key=value adds "
            "a key)"
        )
    prefix, key, text = match.groups()
    exists = OmegaConf.select(cfg, key, default=_ABSENT, throw_on_resolution_failure=False)
    if prefix == "" and exists is _ABSENT:
        raise ConfigError(
            f"{where}: {refused_value(override)} is not allowed: the config has no setting {key} "
            f"(to add one, write +{key}=...)"
        )
    if prefix == "+" and exists is not _ABSENT:
        raise ConfigError(
            f"{where}: {refused_value(override)} is not allowed: {key} is already set (write {key}=...)"
        )
    size = too_large([f"key={text}"])
    if size:
        raise ConfigError(f"{where}: {refused_value(override)} is not allowed: {size}")
    try:  # as the command line reads it: 1e-3 a number (YAML would keep the text '1e-3')
        parsed = OverridesParser.create().parse_override(f"key={text}")
    except (HydraException, RecursionError) as err:
        reason = " ".join(str(err).split())[:200]
        raise ConfigError(
            f"{where}: {refused_value(override)} is not allowed: its value cannot be read as "
            f"the command line reads it: {reason}"
        ) from None
    if parsed.is_sweep_override():
        raise ConfigError(
            f"{where}: {refused_value(override)} is not allowed: a variant sets one value, not a "
            "sweep (a,b or choice(...)): give each value its own variant"
        )
    value = parsed.value()
    if OmegaConf.is_list(exists) and isinstance(value, dict):  # OmegaConf's "Cannot merge"
        raise ConfigError(
            f"{where}: {refused_value(override)} is not allowed: {key} must be a list, not a mapping"
        )
    if OmegaConf.is_dict(exists) and not isinstance(value, dict):
        # model=vae would replace the model's settings by the text 'vae': a group's option
        # is chosen as the config is composed, which a variant's overrides come after
        name = where.removeprefix("variants.")
        raise ConfigError(
            f"{where}: {refused_value(override)} is not allowed: {key} is a section of settings, not one "
            f"setting; a variant's overrides set single settings, e.g. "
            f"variants={{{name}:['{key}.NAME=VALUE']}} (an option such as {key}=... goes on "
            "the command line, one bench run each)"
        )
    return prefix, key, value


def apply_overrides(cfg: DictConfig, overrides: list[str], where: str = "overrides") -> DictConfig:
    """A copy of ``cfg`` with ``key=value`` overrides (``parse_override``); ``where`` names
    the setting they came from in an error."""
    parsed = [parse_override(cfg, override, where) for override in overrides]
    cfg = copy.deepcopy(cfg)
    with open_dict(cfg):
        for (prefix, key, value), override in zip(parsed, overrides, strict=True):
            try:
                OmegaConf.update(cfg, key, value, force_add=bool(prefix))
            except (ValidationError, ConfigTypeError, ConfigKeyError) as err:
                reason = " ".join(str(err).split("\n")[0].split())[:200]
                raise ConfigError(
                    f"{where}: {refused_value(override)} is not allowed: {reason}"
                ) from None
    return cfg


def check_variants(cfg: DictConfig) -> dict[str, list[str]]:
    """``variants`` as name -> its overrides: null or a mapping of names to lists of
    ``key=value`` strings, each key a setting of the config (``+key`` to add one)."""
    variants = cfg.variants
    if variants is None:
        return {}
    if not OmegaConf.is_dict(variants):
        raise ConfigError(
            f"variants={refused_value(plain(variants))} is not allowed: it must be a mapping of names to "
            "lists of key=value overrides, e.g. variants={name:['trainer.fast_dropout=false']}"
        )
    out = {}
    for name, overrides in variants.items_ex(resolve=False):
        where = f"variants.{name}"
        if str(name) == "base":
            raise ConfigError(
                f"{where} is not allowed: base is the configuration without overrides"
            )
        if not OmegaConf.is_list(overrides) or not len(overrides):
            raise ConfigError(
                f"{where}={refused_value(plain(overrides))} is not allowed: it must be a non-empty list of "
                "key=value overrides, e.g. ['trainer.fast_dropout=false']"
            )
        out[str(name)] = list(overrides)
        for override in out[str(name)]:
            parse_override(cfg, override, where)
        check_not_ignored(out[str(name)], where)
    return out


def _optimizer_kind(run_cfg: DictConfig) -> str:
    """How the task's (first) optimizer updates: fused, foreach or for-loop."""
    task = build_task(run_cfg.model, image_shape_of(run_cfg.data), torch.device("meta"))
    group = next(iter(task.optimizers.values())).param_groups[0]
    return "fused" if group.get("fused") else ("foreach" if group.get("foreach") else "for-loop")


def configurations(cfg: DictConfig) -> list[tuple[dict, DictConfig]]:
    """(labels, training config) for each variant x precision x compile mode and scope x
    channels_last x threads (one scope for compile mode none: nothing is compiled)."""
    variants = {"base": [], **check_variants(cfg)}
    task = build_task(cfg.model, image_shape_of(cfg.data), torch.device("meta"))
    threads = [t or cpu_threads(cfg.trainer, task) or torch.get_num_threads() for t in cfg.threads]
    if len(set(threads)) < len(threads):  # null is a count too: the one a run would use
        raise ConfigError(
            f"threads={refused_value(plain(cfg.threads))} is not allowed: it times "
            f"{refused_value(threads)} threads, one count twice (null is what a run uses "
            "here); list each count once"
        )
    lists = {listed: timed_values(cfg, listed) for listed in TIMED_BY_LIST.values()}
    device = resolve_device(cfg.trainer.device)
    precisions = [resolve_precision(p, device) for p in lists["precisions"]]
    if len(set(precisions)) < len(precisions):  # auto is one of the others, by the machine
        raise ConfigError(
            f"precisions={refused_value(plain(cfg.precisions))} is not allowed: it times "
            f"{refused_value(precisions)}, one precision twice (auto is what this machine "
            "takes, null trainer.precision); list each precision once"
        )
    out = []
    for variant, overrides in variants.items():
        for precision, mode, scope, capture, channels_last, n_threads in itertools.product(
            lists["precisions"], lists["compile_modes"], lists["compile_scopes"],
            lists["capture_step"], lists["channels_last"], threads,
        ):  # fmt: skip
            if mode == "none" and scope != lists["compile_scopes"][0]:
                continue
            run_cfg = apply_overrides(cfg, [
                f"trainer.precision={precision}", f"trainer.compile={mode}",
                f"trainer.compile_scope={scope}", f"trainer.capture_step={capture}",
                f"trainer.channels_last={channels_last}",
            ])  # fmt: skip
            run_cfg = apply_overrides(run_cfg, overrides, f"variants.{variant}")
            with blamed_on(variant):  # builds the task: its settings are checked here first
                optimizer = _optimizer_kind(run_cfg)
            labels = {
                "variant": variant, "overrides": list(overrides), "threads": int(n_threads),
                "precision": resolve_precision(  # auto: what it is on this machine
                    run_cfg.trainer.precision, resolve_device(run_cfg.trainer.device)
                ),
                "compile": run_cfg.trainer.compile,
                "compile_scope": run_cfg.trainer.compile_scope if mode != "none" else None,
                "capture_step": bool(run_cfg.trainer.capture_step),
                "channels_last": bool(run_cfg.trainer.channels_last),
                "optimizer": optimizer,
                "fast_dropout": bool(run_cfg.trainer.fast_dropout),
                "flush_denormal": bool(run_cfg.trainer.flush_denormal),
                "pad_thin_convs": bool(run_cfg.trainer.pad_thin_convs),
                "direct_optimizer_step": bool(run_cfg.trainer.direct_optimizer_step),
                "on_nonfinite": run_cfg.trainer.on_nonfinite,  # skip: a check of every step
            }  # fmt: skip
            out.append((labels, run_cfg))
    return out


@contextlib.contextmanager
def blamed_on(variant: str) -> Iterator[None]:
    """A ``ConfigError`` raised inside names the variant whose overrides led to it."""
    try:
        yield
    except ConfigError as err:
        if variant == "base":
            raise
        raise ConfigError(f"variants.{variant}: {err}") from None


def checked_configurations(
    cfg: DictConfig, *, in_job: bool = True
) -> list[tuple[dict, DictConfig]]:
    """``configurations(cfg)`` once every setting is checked as a run's, before any data is
    read; the ``batch_size`` shortcut goes to ``data.batch_size``. ``in_job=False``: checked
    before Hydra makes the folder (``validate_config``'s)."""
    processes = world_size()
    if processes > 1:  # each process timed its own rows, competing for the same cores
        raise ConfigError(
            f"WORLD_SIZE={processes} is not allowed: aegan.bench times one process's step "
            "against the plain loop in that process; run python -m aegan.bench without torchrun"
        )
    check_positive(cfg, "batch_size", allow_none=True)  # named as typed, not as data's
    if cfg.batch_size is not None:
        with open_dict(cfg):
            cfg.data.batch_size = cfg.batch_size
    name = OmegaConf.select(cfg, "data.name", default="fashion_mnist")  # ~data: validate_config's
    if name != "fashion_mnist":  # before validate_config reads (or fetches) the data
        raise ConfigError(
            f"data={name} is not allowed: the plain reference loop reads Fashion-MNIST "
            "only; use data=fashion_mnist"
        )
    validate_config(cfg, entry="bench", in_job=in_job)
    for key in ("steps", "repeats"):
        check_positive(cfg, key)
    check_positive(cfg, "warmup", minimum=0)
    check_positive(cfg, "plain_steps", allow_none=True)
    check_lists(cfg)
    if any(timed_values(cfg, "capture_step")) and cfg.warmup <= WARMUP_STEPS:
        raise ConfigError(
            f"warmup={cfg.warmup} is too short for capture_step=true: a step is captured after "
            f"{WARMUP_STEPS} eager steps; use warmup={WARMUP_STEPS + 2} or more"
        )
    configs = configurations(cfg)  # checks variants
    compiled = sorted({labels["compile"] for labels, _ in configs} - {"none"})
    if compiled and cfg.warmup == 0:  # it compiled in the first timed repeat, or failed there
        raise ConfigError(
            f"warmup=0 is too short for trainer.compile={compiled[0]}: a compiled step compiles "
            "on its first call, which warm-up keeps out of the timing; use warmup=1 or more"
        )
    for labels, run_cfg in configs:
        with blamed_on(labels["variant"]):
            validate_config(run_cfg, entry="bench", in_job=in_job)
    return configs
