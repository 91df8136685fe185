"""How a task is built from its config section: the task, its networks and its optimizers.

``build_task`` is the one way from ``cfg.model`` to a task: Hydra instantiates the class
that ``_target_`` names, with the image shape and the device; the task builds its networks
(``build_network``) and optimizers (``build_optimizer``) from its sub-configs. On the
``meta`` device nothing is allocated: ``aegan.config.validate_config`` builds the task
there to run every constructor check and count the parameters before data is read. The
checks of one setting's value (``check_number``...) are ``aegan.tasks.checks``, those of
a network's or optimizer's settings against what it takes ``aegan.tasks.arguments``; where a
``_target_``'s module is found ``aegan.tasks.targets``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch import nn

from aegan.errors import ConfigError, refused_value
from aegan.tasks.arguments import (
    check_argument_names,
    check_missing_arguments,
    check_network_settings,
    check_optimizer_arguments,
    zero_size_setting,
)
from aegan.tasks.checks import check_bool, check_number, check_sizes
from aegan.tasks.members import check_task_members
from aegan.tasks.sub_configs import NETWORK, OPTIMIZER, check_sub_config, check_sub_configs
from aegan.tasks.targets import longest_module, why_not_found
from aegan.tasks.tied import SET_BY, check_sizes_set, has_member, plain_value

GENERATOR = "aegan.models.Generator"  # its channels: at least 2 (check_network_settings)
OWN_NETWORKS = "aegan.models."  # the networks whose settings check_network_settings knows
TASK = "a task, e.g. aegan.tasks.AutoencoderTask"


def _leaves(cfg: Any, prefix: str) -> list[tuple[str, Any]]:
    """``(key, value)`` of each value in ``cfg`` (a config section, ``prefix`` its key),
    lists included, its interpolations resolved (left as written where one does not
    resolve: its own error says so)."""
    found: list[tuple[str, Any]] = []

    def walk(node: Any, key: str) -> None:
        if isinstance(node, (dict, DictConfig)):
            for name, value in node.items():
                walk(value, f"{key}.{name}")
        elif isinstance(node, (list, tuple, ListConfig)):
            for i, value in enumerate(node):
                walk(value, f"{key}[{i}]")
        else:
            found.append((key, node))

    if isinstance(cfg, DictConfig):
        try:
            cfg = OmegaConf.to_container(cfg, resolve=True)
        except Exception:
            cfg = OmegaConf.to_container(cfg, resolve=False)
    walk(cfg, prefix)
    return found


def largest_size(cfg: Any, prefix: str) -> str:
    """``key=value`` of the largest whole number in ``cfg`` (a model's section, ``prefix``
    its key), lists included: the likely culprit of a model too large to build or hold."""
    found = [(value, key) for key, value in _leaves(cfg, prefix)
             if isinstance(value, int) and not isinstance(value, bool)]  # fmt: skip
    # of equal values the shortest key: model.latent_dim, not model.net.latent_dim set from it
    return "" if not found else "{1}={0}".format(*max(found, key=lambda f: (f[0], -len(f[1]))))


def check_no_interpolation_text(key: str, cfg: Any) -> None:
    """Refuse text that holds ``${`` once resolved (``'\\${oc.env:HOME}'``, escaped to be
    text): ``hydra.utils.instantiate`` resolves the section again and reads it as an
    interpolation, another value than given or a config it builds (``oc.create``)."""
    try:
        resolved = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    except Exception:  # an interpolation that does not resolve: instantiate's error says so
        return
    for name, value in _leaves(resolved, key):
        if isinstance(value, str) and "${" in value:
            raise ConfigError(
                f"{name}={refused_value(value)} is not allowed: text holding '${{' is read again "
                f"as an interpolation when {key} is built; leave the '${{' out"
            )


def _instantiate(key: str, cfg: Any, what: str | None = None, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` with its failures as one ``ConfigError`` naming ``key``;
    ``what``: what ``cfg`` builds, for the line that says it is no config."""
    check_sub_config(key, cfg, what)
    check_no_interpolation_text(key, cfg)
    target = cfg["_target_"]
    try:
        return instantiate(cfg, **kwargs)
    except ConfigError:
        raise
    except InstantiationException as err:
        cause = err.__cause__ or err
        if isinstance(cause, ConfigError):  # a constructor's own check names its setting
            raise cause from None
        reason = " ".join(str(cause).split())[:300]
        # Hydra's own words for a target it cannot import; an ImportError or AttributeError
        # that the constructor raises is the constructor's failure, not a missing class
        if str(err).startswith("Error locating target"):
            raise ConfigError(f"{key}._target_={target}: {why_not_found(str(target))}") from err
        if isinstance(cause, TypeError):  # a setting it takes no argument for, by name
            check_argument_names(key, cfg, given=kwargs, refused=cause)
        if err.__cause__ is not None:  # it was called: a sub-config it could not read?
            check_sub_configs(key, cfg, given=kwargs)
        if isinstance(cause, TypeError):  # a setting it needs, left out
            check_missing_arguments(key, cfg, given=kwargs, refused=cause)
        if isinstance(cause, RuntimeError) and "overflow" in str(cause):  # torch's size limits
            raise ConfigError(
                f"{largest_size(cfg, key)} is not allowed: a layer of {key} would be larger "
                f"than torch can hold ({reason}); choose smaller sizes"
            ) from None
        raise ConfigError(f"{key}._target_={target} could not be built: {reason}") from None
    except (TypeError, ValueError) as err:
        check_argument_names(key, cfg, given=kwargs, refused=err)
        raise ConfigError(f"{key}._target_={target} could not be built: {err}") from None


def _import_targets(model_cfg: DictConfig) -> None:
    """Import the module of each ``_target_`` in ``model_cfg`` off the meta device: a user's
    module first imported while its task is built there kept its module-level tensors (a
    constant kernel) as meta tensors, with no values, and the first step failed on them."""
    for key, target in _leaves(model_cfg, "model"):
        if not (key.endswith("._target_") and isinstance(target, str)):
            continue
        longest_module(target)  # a failure: instantiate's own error names the target


def build_task(model_cfg: DictConfig, image_shape: Sequence[int], device: torch.device) -> Any:
    """The task that ``model_cfg`` names, for images of ``image_shape`` (C, H, W), on ``device``."""
    _import_targets(model_cfg)
    placement = torch.device("meta") if device.type == "meta" else contextlib.nullcontext()
    try:
        with placement:  # elsewhere built on the CPU, then moved: the same init on every device
            task = _instantiate(
                "model", model_cfg, TASK, image_shape=[int(s) for s in image_shape],
                device=device, _recursive_=False,
            )  # fmt: skip
    except ConfigError as err:
        if device.type == "meta" and "meta" in str(err):
            raise ConfigError(
                f"{err} (settings are checked by building the task on the meta device first, "
                "which allocates nothing: its constructor may not read tensor values)"
            ) from None
        raise
    check_task_members(task, model_cfg._target_, model_cfg.get("name"), device=device)
    return task


def build_network(
    key: str, cfg: DictConfig, *, require: Sequence[str] = (),
    set_by: dict[str, str] | None = None, **sizes: Any,
) -> nn.Module:  # fmt: skip
    """The ``nn.Module`` of the sub-config ``key`` (e.g. ``model.generator``), with ``sizes``
    (image_shape, ...) that the task sets, from the data or its own settings (``set_by``
    names them where ``SET_BY`` does not); ``require``: the methods and attributes the
    task calls on it."""
    check_sub_config(key, cfg, NETWORK)
    check_sizes_set(key, cfg, sizes, {**SET_BY, **(set_by or {})})
    settings = {**cfg, **sizes}
    if str(cfg.get("_target_", "")).startswith(OWN_NETWORKS):  # a user's may mean otherwise
        own = {k: v for k, v in cfg.items() if k not in sizes}
        generator = cfg["_target_"] == GENERATOR
        check_network_settings(
            key, own, image_shape=sizes.get("image_shape"), generator=generator,
            target=cfg["_target_"],
        )  # fmt: skip
    for name, value in settings.items():  # sizes and counts: none is negative
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise ConfigError(f"{key}.{name}={value} is not allowed: it must be >= 0")
    with warnings.catch_warnings(record=True) as caught:  # shown below, unless refused
        warnings.simplefilter("always")
        network = _instantiate(key, cfg, NETWORK, **sizes)
    if not isinstance(network, nn.Module):
        raise ConfigError(f"{key}._target_={cfg['_target_']} is not an nn.Module")
    missing = [name for name in require if not has_member(network, name)]
    if missing:  # else the first step fails with NotImplementedError or AttributeError
        raise ConfigError(
            f"{key}._target_={cfg['_target_']} is not allowed here: the task calls its "
            f"{', '.join(require)}, and it has no {', '.join(missing)}"
        )
    empty = [name for name, p in network.named_parameters() if p.numel() == 0]
    if empty:  # a layer of width 0 trains nothing; this line says which setting made it,
        # not torch's warning about zero-element tensors before it
        raise ConfigError(
            f"{zero_size_setting(key, settings)} is not allowed: sizes must be "
            f"positive (a layer of width 0, {empty[0]}, has no weights)"
        )
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return network


def build_optimizer(key: str, cfg: DictConfig, params: Iterable[nn.Parameter]):
    """The optimizer of the sub-config ``key``, for ``params``: ``_partial_`` (completed with
    them here) whether its config says ``_partial_: true`` or leaves it out."""
    check_sub_config(key, cfg, OPTIMIZER)
    if cfg.get("_partial_", True) is not True:  # false: Hydra would call it without params
        raise ConfigError(
            f"{key}._partial_={cfg.get('_partial_')!r} is not allowed: the task completes the "
            f"optimizer with its parameters; set {key}._partial_=true, or leave it out"
        )
    for switch in ("fused", "foreach"):  # torch reads any truthy value as true
        check_bool(f"{key}.{switch}", cfg.get(switch), allow_none=True)
    if cfg.get("fused") and cfg.get("foreach"):
        raise ConfigError(
            f"{key}.fused=true and {key}.foreach=true cannot both be set; "
            f"set {key}.fused=false to use foreach"
        )
    # a huge one is allowed: divergence is the run's outcome, stopped by trainer.on_nonfinite
    check_number(f"{key}.lr", cfg.get("lr"), low=0, low_open=True, high_open=True)
    if "betas" in cfg:
        check_sizes(
            f"{key}.betas", cfg.betas, length=2, low=0, high=1, high_open=True, integer=False
        )
    if "eps" in cfg:
        check_number(f"{key}.eps", cfg.eps, low=0, low_open=True, high=1)
    if "weight_decay" in cfg:
        check_number(f"{key}.weight_decay", cfg.weight_decay, low=0, high=1e6)
    check_optimizer_arguments(key, cfg)
    # plain lists and tuples (betas), not ListConfigs, in the optimizer state
    optimizer = _instantiate(key, cfg, OPTIMIZER, _convert_="all", _partial_=True)
    params = list(params)
    groups = [p["params"] if isinstance(p, dict) else p for p in params]  # or param groups
    tensors = [t for g in groups for t in ([g] if isinstance(g, torch.Tensor) else g)]
    if not any(t.requires_grad for t in tensors):  # torch: "empty parameter list", a frozen
        # network's first backward: "element 0 of tensors does not require grad", in a run
        frozen = f" ({len(tensors)}, none with requires_grad)" if tensors else ""
        raise ConfigError(
            f"{key}._target_={cfg['_target_']} is given no parameters to train{frozen}: the "
            "networks it steps have no weights that train; give them some"
        )
    try:  # the optimizer's own checks: named by its key, not by the task that builds it
        return optimizer(params)
    except ConfigError:
        raise
    except (TypeError, ValueError, RuntimeError) as err:  # torch raises all three on settings
        reason = " ".join(str(err).split())[:300]
        settings = ", ".join(
            f"{k}={plain_value(v)}" for k, v in cfg.items() if not k.startswith("_")
        )
        raise ConfigError(
            f"{key} is not allowed as set ({cfg['_target_']} with {settings}): {reason}"
        ) from None


def parameter_bytes(task: Any) -> int:
    """Bytes of every network's parameters and buffers (works on the meta device)."""
    return sum(
        t.numel() * t.element_size()
        for network in task.networks.values()
        for t in [*network.parameters(), *network.buffers()]
    )
