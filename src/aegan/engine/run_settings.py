"""The settings that make a run what it is, compared (never built from) between a
checkpoint's own record of them and a run folder's record or a resume's command.

A run is its model and the images it trains and is measured on: every ``model.*`` and
``data.*`` setting, but those a resume may change (``resumable``):

- the optimizers' settings (a model section the task completes with its parameters:
  ``model.optimizer``, ``model.g_optimizer``..., lr, betas, fused), as the README says,
  but not their ``_target_``: the class says what the saved moments are;
- ``model.noise_seed``: the fixed noise a picture shows is the checkpoint's;
- where the files are (``data.root``, ``data.download``: their fingerprint says whether
  they are the images the run trained on), how they are batched (``data.batch_size``: a
  mid-epoch resume checks the images a step draws) and how many of the training images
  it takes (``data.subset``: the validation and test splits stay);
- and outside ``model`` and ``data``: ``trainer.*`` (epochs, device, speed switches),
  ``logger.*``, ``evaluate.*``, ``seed`` (a resume goes on with the checkpoint's random
  state), ``paths.*``.

Any other (``model.latent_dim``, ``model.beta``, ``model.loss``, ``model.ema_decay``,
``data.val_size``, ``data.binarize``...) a resume refuses to change, wherever it writes:
its objective would measure something else than the run's history and ``best.pt`` did,
under the run's name. So every checkpoint in a run's folder agrees with the folder's
record on them, and one that does not is another run's (``aegan.runs.record_networks``).

Every checkpoint holds the resolved config it was trained under (``config``, plain
values), so files of every format are compared. A key one side lacks (a setting added to
``conf/`` since the run trained, which a resume leaves to the task's default) and a value
the record takes from another key (``${..latent_dim}``) are not compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from omegaconf import DictConfig, OmegaConf

from aegan.errors import ConfigError, typed
from aegan.io.path_kinds import shown
from aegan.logger import flatten_config

RUN_GROUPS = ("model", "data")
RESUMABLE_DATA = ("data.root", "data.download", "data.batch_size", "data.subset")
RESUMABLE_MODEL = ("model.noise_seed",)


def optimizer_sections(config: Any) -> set[str]:
    """The model sections of ``config`` (plain values) that are optimizers: named
    ``optimizer`` or ``*_optimizer``, or completed by the task (``_partial_: true``)."""
    model = config.get("model") if isinstance(config, Mapping) else None
    if not isinstance(model, Mapping):
        return set()
    return {
        f"model.{key}" for key, section in model.items()
        if isinstance(section, Mapping)
        and (key == "optimizer" or str(key).endswith("_optimizer")
             or section.get("_partial_") is True)
    }  # fmt: skip


def resumable(key: str, optimizers: set[str] = frozenset()) -> bool:
    """Whether a resume may change the setting ``key`` (a dotted name)."""
    if not key.startswith(tuple(f"{group}." for group in RUN_GROUPS)):
        return True
    section = ".".join(key.split(".")[:2])
    return key in RESUMABLE_DATA or key in RESUMABLE_MODEL or section in optimizers


def _run_settings(config: Any) -> dict[str, Any]:
    """The ``model`` and ``data`` settings of ``config`` (plain values) by dotted key."""
    if not isinstance(config, Mapping):
        return {}
    groups = {g: config[g] for g in RUN_GROUPS if isinstance(config.get(g), Mapping)}
    return flatten_config(groups, as_text=False)


def first_run_difference(saved: Any, other: Any) -> tuple[str, Any, Any] | None:
    """(key, the value in ``saved``, the value in ``other``) of the first run setting, in
    ``other``'s order, that the two configs (plain values) hold with other values; None
    where they agree on every one both hold as a plain value."""
    optimizers = optimizer_sections(saved) | optimizer_sections(other)
    before, now = _run_settings(saved), _run_settings(other)
    for key, value in now.items():
        if resumable(key, optimizers) or key not in before or _taken_from_elsewhere(value):
            continue
        if not _same(before[key], value):
            return key, before[key], value
    return None


def check_resumed_settings(state: dict, cfg: DictConfig, what: str, conf: Mapping) -> None:
    """A resume (``what``: ``trainer.resume=PATH``) continues the run as it trained: the
    command's run settings (``cfg``'s) are the checkpoint's, but those a resume may change.
    Refused before any data is read, naming the first that differs; a setting the command
    deleted (``~model.loss``: the task's default) too, where ``conf`` (what ``conf/`` holds
    for its options) has it: one ``conf/`` no longer has is the version's, not the user's."""
    config = {group: OmegaConf.to_container(cfg[group], resolve=True) for group in RUN_GROUPS}
    difference = first_run_difference(state["config"], config)
    if difference is not None:
        key, then, now = difference
        _refuse(what, key, then, f"{key}={shown_setting(now)}")
    optimizers = optimizer_sections(state["config"])
    for section in sorted(optimizers):  # the class says what its saved moments are
        then, now = (_target_at(c, section) for c in (state["config"], config))
        if then is not None and now is not None and then != now:
            key = f"{section}._target_"
            _refuse(what, key, then, f"{key}={shown_setting(now)}")
    saved, given, known = (_run_settings(c) for c in (state["config"], config, conf))
    for key, then in saved.items():
        if key not in given and key in known and not resumable(key, optimizers):
            _refuse(what, key, then, f"{key} deleted (~{key}: the task's default)")


def _target_at(config: Mapping, section: str) -> str | None:
    """The ``_target_`` text of ``config``'s ``section`` (``model.optimizer``), or None."""
    node: Any = config
    for part in section.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    target = node.get("_target_") if isinstance(node, Mapping) else None
    return target if isinstance(target, str) and "${" not in target else None


SAID_ON_RESUME = ("trainer.epochs",)  # what else a resume changes that the user should hear


def resumed_changes(state: dict, cfg: DictConfig) -> list[str]:
    """The settings a resume changes from those its checkpoint ``state`` trained with, as
    ``key=now (it trained with then)``: the run settings a resume may change (a command
    that leaves out the run's ``data.subset=512`` trains on every image) and
    ``SAID_ON_RESUME``. Seeds and paths are left out: they change on every new machine."""
    saved = state["config"] if isinstance(state.get("config"), Mapping) else {}
    now = OmegaConf.to_container(cfg, resolve=True)
    optimizers = optimizer_sections(saved) | optimizer_sections(now)
    before, after = _run_settings(saved), _run_settings(now)
    for key in SAID_ON_RESUME:
        group, _, name = key.partition(".")
        for config, flat in ((saved, before), (now, after)):
            section = config.get(group)
            if isinstance(section, Mapping) and name in section:
                flat[key] = section[name]
    said = [k for k in after if k in before and k != "data.root"
            and (resumable(k, optimizers) or k in SAID_ON_RESUME)]  # fmt: skip
    return [
        f"{k}={shown_setting(after[k])} (it trained with {shown_setting(before[k])})"
        for k in said
        if not _taken_from_elsewhere(before[k]) and not _same(before[k], after[k])
    ]


def _refuse(what: str, key: str, then: Any, this: str) -> NoReturn:
    raise ConfigError(
        f"{what}: it was trained with {key}={shown_setting(then)}, this command has {this}; "
        "a resume continues the run as it trained, changing at most its optimizers' settings "
        "(not their _target_), seeds, data.root, data.batch_size or data.subset: resume with "
        f"{key}={shown_setting(then)}, "
        "or start a new run without trainer.resume"
    )


def shown_setting(value: Any) -> str:
    """A setting's value as typed, on one line (a record's text may hold a line break)."""
    return shown(typed(value))[:80]


def _taken_from_elsewhere(value: Any) -> bool:
    """A record's value that is no plain value: an interpolation (``${..latent_dim}``, a
    resolver) or a list holding one, or ``???`` (set by the command line)."""
    if isinstance(value, list):
        return any(map(_taken_from_elsewhere, value))
    return isinstance(value, str) and ("${" in value or value == "???")


def _same(a: Any, b: Any) -> bool:
    """Equal plain values, as a config compares them: 4 and 4.0 alike, true and 1 not."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return type(a) is not list and type(b) is not list and a == b
