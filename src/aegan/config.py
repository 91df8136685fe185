"""Config schema and validation: catch bad settings before any data is read or weight built.

Hydra's ConfigStore gives the trainer section types for free (``trainer.epochs=abc`` is
refused at compose time); ``validate_config`` checks what types cannot (ranges, choices,
paths, image sizes) and raises ``ConfigError`` with one line naming key, value and what
is allowed.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.errors import (
    CompactHydraException,
    ConfigCompositionException,
    MissingConfigException,
    OverrideParseException,
)
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    InterpolationToMissingValueError,
    MissingMandatoryValue,
    ValidationError,
)

from aegan.data import DATASETS
from aegan.engine.amp import DEVICES, PRECISIONS, ConfigError
from aegan.engine.capture import check_step_capture
from aegan.engine.checkpoint import resolve_checkpoint
from aegan.engine.speed import COMPILE_MODES, COMPILE_SCOPES, check_step_compile

ON_NONFINITE = ("stop", "skip")

# conf/ of this checkout (the package is installed editable from src/). An absolute path,
# so every entry point finds it: `python -m aegan.train` and the `aegan-train` script, for
# which Hydra would read a relative path as the Python package `conf`.
CONF_DIR = str(Path(__file__).resolve().parents[2] / "conf")


@contextmanager
def one_line_errors(
    errors: tuple[type[Exception], ...], *, debug: bool, logger: logging.Logger
) -> Iterator[None]:
    """``errors`` (those a user can fix from the message alone) become one line in the log
    and exit code 2 instead of a traceback; ``debug=true`` lets them through."""
    try:
        yield
    except errors as err:
        if debug:
            raise
        logger.error("%s", err)
        sys.exit(2)


# A ``???`` left unset (evaluate's ``run``), read directly or through an interpolation.
UNSET_VALUE = (MissingMandatoryValue, InterpolationToMissingValueError)


def unset_message(key: str) -> str:
    """The one line for a ``???`` value left unset, from Hydra or from ``validate_config``."""
    return f"{key} is not set: add {key}=... to the command"


# What an OmegaConf node of TrainerSchema's types takes, for hydra_error_line.
NODE_TYPES = {
    "IntegerNode": "an integer",
    "FloatNode": "a number",
    "BooleanNode": "true or false",
}


def one_line_hydra_errors(hydra_main: Callable[..., object]) -> Callable[..., object]:
    """Wrap a ``@hydra.main`` function so that the command-line mistakes Hydra catches while
    composing the config (a misspelt group option or key, a value of the wrong type, an
    override that does not parse) are one line naming what is allowed, with exit code 2.
    Hydra's own report is several lines and suggests ``+key=value``, which our typed
    sections refuse anyway. ``debug=true`` or ``HYDRA_FULL_ERROR=1``: Hydra's report."""

    @functools.wraps(hydra_main)
    def run(*args: object, **kwargs: object) -> object:
        debug = any(arg.lower() in ("debug=true", "debug=1") for arg in sys.argv[1:])
        if debug or "HYDRA_FULL_ERROR" in os.environ:
            return hydra_main(*args, **kwargs)
        os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises instead of printing and exiting 1
        try:
            return hydra_main(*args, **kwargs)
        except (CompactHydraException, *UNSET_VALUE) as err:
            line = hydra_error_line(err)
            if line is None:
                raise
            print(f"error: {line}", file=sys.stderr)
            sys.exit(2)
        finally:
            del os.environ["HYDRA_FULL_ERROR"]

    return run


def hydra_error_line(err: Exception) -> str | None:
    """One line for a config-composition error of Hydra's; None for any other error."""
    if isinstance(err, UNSET_VALUE):
        missing = re.search(r"Missing mandatory value: (\S+)", str(err))
        return unset_message(missing.group(1) if missing else err.full_key)
    if isinstance(err, MissingConfigException):
        if not err.missing_cfg_file or "/" not in err.missing_cfg_file:
            return None  # the primary config itself: not a command-line mistake
        group, name = err.missing_cfg_file.rsplit("/", 1)
        if not err.options:
            return f"{group}={name}: there is no such {group} config"
        return f"{group}={name}: no such option; choose one of: {', '.join(err.options)}"
    if isinstance(err, OverrideParseException):
        reason = err.message.splitlines()[0]
        grammar = "https://hydra.cc/docs/advanced/override_grammar/basic/"
        return f"cannot read the override {err.override!r}: {reason} (the syntax: {grammar})"
    if not isinstance(err, ConfigCompositionException):
        return None
    cause = err.__cause__
    if cause is None:  # e.g. "model appears more than once in the final defaults list"
        return " ".join(line.strip() for line in str(err).splitlines() if line.strip())
    full_key = getattr(cause, "full_key", None)
    reason = str(getattr(cause, "msg", None) or cause).splitlines()[0]
    if isinstance(cause, (ConfigKeyError, ConfigAttributeError)) and full_key:
        parent = full_key.rpartition(".")[0]
        known = sorted(map(str, cause.parent_node.keys())) if cause.parent_node else []
        close = difflib.get_close_matches(str(cause.key), known, n=1)
        prefix = f"{parent}." if parent else ""
        if close:
            return f"{full_key} is not a setting; did you mean {prefix}{close[0]}?"
        where = f"the settings of {parent}" if parent else "the sections"
        return f"{full_key} is not a setting; {where} are: {', '.join(known)}"
    if isinstance(cause, ValidationError) and full_key:
        expected = NODE_TYPES.get(type(cause.child_node).__name__)
        if expected:
            return f"{full_key}={cause.value} is not allowed: it must be {expected}"
        return f"{full_key}={cause.value} is not allowed: {reason}"
    return f"{full_key}: {reason}" if full_key else f"{str(err).splitlines()[0]} {reason}"


# Image shape of each named data set, known before reading it.
KNOWN_SHAPES = {"fashion_mnist": (1, 28, 28), "mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


@dataclass
class TrainerSchema:
    """Types of ``cfg.trainer`` (conf/trainer/default.yaml holds the values)."""

    epochs: int = 30
    device: str = "auto"
    precision: str = "fp32"
    cpu_threads: int | None = None
    eval_batch_size: int | None = None
    checkpoint_every_steps: int = 0
    keep_checkpoints: int = 2
    resume: str | None = None
    sync_batchnorm: bool = False
    on_nonfinite: str = "stop"
    channels_last: bool = False
    compile: str = "none"
    compile_scope: str = "network"
    capture_step: bool = False
    cudnn_benchmark: bool = True
    fast_dropout: bool = True
    pad_thin_convs: bool = False
    direct_optimizer_step: bool = True


def register_configs() -> None:
    """Make ``trainer/schema`` available to the defaults lists of conf/trainer/*.yaml."""
    ConfigStore.instance().store(group="trainer", name="schema", node=TrainerSchema)


register_configs()


def check_positive(
    cfg: DictConfig, key: str, *, allow_none: bool = False, minimum: int = 1
) -> None:
    """Raise ``ConfigError`` unless ``cfg``'s ``key`` is an integer >= ``minimum`` (or null)."""
    value = OmegaConf.select(cfg, key)
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        allowed = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigError(
            f"{key}={value!r} is not allowed: it must be {allowed}{' or null' if allow_none else ''}"
        )


def _choice(key: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; choose one of: {', '.join(allowed)}")


def image_shape_of(data_cfg: DictConfig) -> tuple[int, int, int]:
    """The (C, H, W) a data config will produce, without reading it."""
    if data_cfg.name == "image_folder":
        return (data_cfg.channels, data_cfg.image_size, data_cfg.image_size)
    return KNOWN_SHAPES[data_cfg.name]


def unset_keys(container: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose value is ``???`` in an unresolved ``OmegaConf.to_container``
    (``OmegaConf.missing_keys`` resolves interpolations such as ``${hydra:...}`` on the way,
    which fail outside a Hydra run)."""
    if isinstance(container, dict):
        items = container.items()
    elif isinstance(container, list):
        items = enumerate(container)
    else:
        return [prefix.rstrip(".")] if container == "???" else []
    return [key for name, value in items for key in unset_keys(value, f"{prefix}{name}.")]


def validate_config(cfg: DictConfig) -> None:
    """Raise ``ConfigError`` for the first setting that cannot work."""
    from aegan.tasks import TASK_CLASSES, TASKS  # late: tasks import the engine

    for group in ("data", "model", "trainer", "logger", "paths"):
        if group not in cfg:  # deleted on the command line: ~model
            options = sorted(path.stem for path in (Path(CONF_DIR) / group).glob("*.yaml"))
            raise ConfigError(
                f"{group} is not set (deleted with ~{group}?); choose one with {group}=..., "
                f"one of: {', '.join(options)}"
            )
    unset = unset_keys(OmegaConf.to_container(cfg, resolve=False))  # e.g. image_folder's root
    if unset:
        raise ConfigError(unset_message(unset[0]))
    _choice("data", cfg.data.name, DATASETS)
    _choice("model.task", cfg.model.task, TASKS)
    _choice("trainer.precision", cfg.trainer.precision, PRECISIONS)
    if cfg.trainer.device not in DEVICES and not str(cfg.trainer.device).startswith("cuda:"):
        _choice("trainer.device", cfg.trainer.device, DEVICES)
    _choice("trainer.on_nonfinite", cfg.trainer.on_nonfinite, ON_NONFINITE)
    _choice("trainer.compile", cfg.trainer.compile, COMPILE_MODES)
    _choice("trainer.compile_scope", cfg.trainer.compile_scope, COMPILE_SCOPES)
    if cfg.trainer.compile != "none" and cfg.trainer.compile_scope == "step":
        distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1  # set by torchrun
        check_step_compile(TASK_CLASSES[cfg.model.task], distributed=distributed)
    check_step_capture(cfg.trainer, cfg.model, TASK_CLASSES[cfg.model.task])
    for key in (
        "trainer.epochs",
        "trainer.keep_checkpoints",
        "data.batch_size",
    ):
        check_positive(cfg, key)
    check_positive(cfg, "trainer.checkpoint_every_steps", minimum=0)
    check_positive(cfg, "trainer.cpu_threads", allow_none=True)
    check_positive(cfg, "trainer.eval_batch_size", allow_none=True)
    check_positive(cfg, "model.cpu_threads", allow_none=True)
    check_positive(cfg, "data.subset", allow_none=True)
    check_positive(cfg, "data.val_size", minimum=0)
    check_positive(cfg, "logger.log_every_steps")
    check_positive(cfg, "model.latent_dim")
    for i, size in enumerate(cfg.model.get("hidden_dims") or []):
        if not isinstance(size, int) or size < 1:
            raise ConfigError(
                f"model.hidden_dims[{i}]={size!r} is not allowed: layer sizes must be positive integers"
            )
    if cfg.data.name == "image_folder":
        check_positive(cfg, "data.image_size")
        _choice("data.channels", cfg.data.channels, (1, 3))
    if cfg.data.subset is not None and cfg.data.batch_size > cfg.data.subset:
        raise ConfigError(
            f"data.batch_size={cfg.data.batch_size} is larger than data.subset={cfg.data.subset}; "
            f"use a batch size <= {cfg.data.subset}"
        )
    if cfg.model.task == "gan":
        from aegan.models.dcgan import generator_layout

        channels, height, width = image_shape_of(cfg.data)
        try:
            generator_layout((height, width))
        except ValueError as err:
            raise ConfigError(f"data={cfg.data.name} ({channels}x{height}x{width}): {err}") from err
    if cfg.trainer.sync_batchnorm and cfg.trainer.device == "cpu":
        raise ConfigError(
            "trainer.sync_batchnorm=true needs CUDA (SyncBatchNorm has no CPU kernel)"
        )
    if cfg.trainer.resume and cfg.trainer.resume != "auto":
        resolve_checkpoint(cfg.trainer.resume)  # raises CheckpointError naming the path
    root = cfg.data.get("root")
    if root and cfg.data.name != "cifar10" and not Path(str(root)).expanduser().exists():
        raise ConfigError(f"data.root={root} does not exist; pass a folder that holds the data set")
