"""Which final metrics a task gets: the names asked for (``evaluate.metrics``, a run's
``metrics=``) or the task's own, each checked against what the task can do, the settings
and the data, before any data is read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aegan.contract import call_of, can
from aegan.data import DataSizes, image_shape_of, sizes_of, test_size_of
from aegan.errors import ConfigError, refused_value
from aegan.metrics.limits import check_classes, check_data_sizes
from aegan.metrics.registry import METRICS
from aegan.metrics.scope import Scope, Settings
from aegan.settings.value_kinds import unquoted_hint


def check_metric_names(names: Any, key: str = "evaluate.metrics") -> tuple[str, ...]:
    """``names`` as a tuple of registered metric names; ``ConfigError`` naming ``key`` else."""
    if isinstance(names, (str, Mapping)) or not isinstance(names, Iterable):  # a mapping: its keys
        raise ConfigError(
            f"{key}={refused_value(names)} is not allowed: it must be a list of names"
            + unquoted_hint(key, names, [])
        )
    names = tuple(names)
    if not names:  # would evaluate nothing and report success
        raise ConfigError(
            f"{key}=[] is not allowed: it must be a non-empty list of names, or null for the "
            "task's own"
        )
    for name in names:
        if not isinstance(name, str) or name not in METRICS:
            raise ConfigError(
                f"{key}: {refused_value(name)} is not a metric; choose from: {', '.join(METRICS)}"
            )
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:  # computed twice over, for the same figures
        raise ConfigError(f"{key}: {', '.join(twice)} is named twice; name each metric once")
    return names


def check_metrics(
    task: Any, names: Any, key: str = "evaluate.metrics", scope: Scope | None = None
) -> tuple[str, ...]:
    """The metric names to compute for ``task``: ``names`` (a list) checked, or the task's own.
    ``ConfigError`` naming ``key`` for a name that is not a metric, or one the task cannot
    give; with ``scope``, also for a metric its own check refuses at these settings, or one
    the data cannot feed (``aegan.metrics.limits``)."""
    if task.metrics:  # the task's own list, asked for or not: else a KeyError once trained
        check_metric_names(task.metrics, f"{type(task).__name__}.metrics")
    given = names is not None
    names = check_metric_names(names, key) if given else tuple(task.metrics)
    for name in names:
        missing = [need for need in METRICS[name].needs if not can(task, need)]
        if missing:  # else it fails after training
            where = key if given else f"{type(task).__name__}.metrics"
            listed = f"; its metrics are: {', '.join(task.metrics)}" if given else ""
            methods = ", ".join(call_of(need) for need in missing)
            raise ConfigError(
                f"{where}: {name!r} needs a model that can {' and '.join(missing)}, which "
                f"{type(task).__name__} cannot{listed} (the methods {methods}: "
                "aegan.contract.CALLS)"
            )
    if scope is None:
        return names
    for name in names:
        check_data_sizes(name, METRICS[name].data, scope)
        if METRICS[name].check is not None:
            METRICS[name].check(scope)
    kept = check_classes(task, names, {n: METRICS[n].data for n in names}, scope, explicit=given)
    return tuple(name for name in names if name in kept)


def check_metrics_before_data(
    task: Any, names: Any, settings: Settings, data_cfg: Any, key: str = "evaluate.metrics"
) -> DataSizes:
    """``check_metrics`` with each metric's limits on the images ``data_cfg`` will hold,
    before any is read: what its name tells (SSIM's image size, IWAE's cost), then the
    splits' sizes and classes (an image folder listed, not read); returns those sizes."""
    shape = image_shape_of(data_cfg)
    check_metrics(task, names, key, Scope(settings, shape, test_size_of(data_cfg), key))
    sizes = sizes_of(data_cfg)
    scope = Scope(settings, shape, sizes.test, key, train_images=sizes.train,
                  classes=sizes.classes, source=sizes.source, origin=sizes.origin)  # fmt: skip
    check_metrics(task, names, key, scope)
    return sizes
