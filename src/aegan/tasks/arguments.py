"""The checks of a network's or an optimizer's settings against what it takes: argument
names against its signature, the sizes and kernels of aegan's own networks, an optimizer's
arguments against the types of its defaults. Each raises one ``ConfigError`` line naming
the key, the value and what is allowed, where torch's own error would name neither.
"""

from __future__ import annotations

import difflib
import inspect
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig

from aegan.errors import ConfigError, refused_value
from aegan.models.dcgan import OUT_ACTIVATIONS, generator_layout
from aegan.models.hybrid import POSTERIORS
from aegan.tasks.checks import (
    MAX_CODE,
    MAX_SIZE,
    check_bool,
    check_choice,
    check_number,
    check_sizes,
)
from aegan.tasks.tied import plain_value

MAX_KERNEL = 63  # convolution kernels: far beyond any image side a run uses
WIDTHS = ("out_features",)  # network settings that are layer widths (and *_hidden, *channels)
COUNTS = ("num_labels", "categories", "continuous")  # may be 0: none of them
CHOICES = {"out_activation": OUT_ACTIVATIONS, "posterior": POSTERIORS}  # their text settings
OPEN = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def check_optimizer_arguments(key: str, cfg: DictConfig) -> None:
    """Raise ``ConfigError`` for an argument of ``key``'s optimizer class that it does not
    take, or whose type differs from its default's: torch reads ``amsgrad: "no"`` as true
    and fails on ``amsgrad: 3`` only at the first step. Reads the signature, no tensor."""
    try:
        signature = inspect.signature(get_object(str(cfg.get("_target_"))))
    except Exception:  # not a class: _instantiate names what is wrong with _target_
        return
    parameters = {n: p for n, p in signature.parameters.items() if n not in ("self", "params")}
    check_argument_names(key, cfg)
    for name, value in cfg.items():
        name = str(name)
        if name.startswith("_") or name not in parameters:  # Hydra's own; or **kwargs
            continue
        full = f"{key}.{name}"
        default = parameters[name].default
        numbers = isinstance(default, tuple) and all(map(_is_number, default))
        if isinstance(default, bool):
            check_bool(full, value)
        elif _is_number(default):  # inf or nan would not train
            check_number(full, value, low_open=True, high_open=True)
        elif numbers and default:  # betas, etas: the same count of finite numbers
            check_sizes(
                full, value, length=len(default), integer=False, low=-math.inf, high=math.inf,
                low_open=True, high_open=True,
            )  # fmt: skip


def check_argument_names(
    key: str, cfg: Any, given: Iterable[str] = (), refused: BaseException | None = None
) -> None:
    """Raise ``ConfigError`` for a key of ``cfg`` that its ``_target_`` takes no argument
    for, naming the nearest one it takes: Python's own "unexpected keyword argument" names
    neither the setting nor what was meant, and for a subclass taking ``**settings``
    (InfoGanTask) names its parent. ``given``: the arguments the code passes itself (the
    image shape, the device); ``refused``: the TypeError of a call that failed, which names
    the key where ``**kwargs`` go beyond the constructors known here."""
    try:
        parameters, open_ended = constructor_arguments(get_object(str(cfg.get("_target_"))))
    except Exception:  # not a callable: _instantiate names what is wrong with _target_
        return
    said = re.search(r"unexpected keyword argument '(\w+)'", str(refused or ""))
    passed = [name for name in given if not name.startswith("_")]  # not Hydra's own
    if said and said.group(1) in passed:  # the code passes it, whatever the config says
        raise ConfigError(
            f"{key}._target_={cfg['_target_']} takes no argument {said.group(1)}, which it is "
            f"always given ({', '.join(passed)}): add {said.group(1)} to its constructor"
        )
    names = [n for n in parameters if n not in ("self", "params", *given)]
    unknown = [str(n) for n in cfg if not str(n).startswith("_") and n not in parameters]
    if open_ended:  # only the key the call itself refused is known not to be taken
        unknown = [n for n in unknown if said and n == said.group(1)]
    for name in unknown[:1]:
        close = difflib.get_close_matches(name, names, n=1)
        raise ConfigError(
            f"{key}.{name}={plain_value(cfg[name])!r} is not allowed: {key}._target_="
            f"{cfg['_target_']} takes no argument {name}; its arguments are: {', '.join(names)}"
            + (f"; did you mean {key}.{close[0]}?" if close else "")
        )


def check_missing_arguments(key: str, cfg: Any, given: Iterable[str], refused: TypeError) -> None:
    """Raise ``ConfigError`` naming the setting of ``key`` that its ``_target_`` needs and
    ``cfg`` leaves out, where the call was ``refused`` for it: Python's line names the
    argument ("missing 1 required keyword-only argument: 'name'"), not the key to set."""
    if not re.search(r"missing \d+ required", str(refused)):
        return
    try:
        parameters, _ = constructor_arguments(get_object(str(cfg.get("_target_"))))
    except Exception:  # not a callable: _instantiate names what is wrong with _target_
        return
    for name, parameter in parameters.items():
        if parameter.default is parameter.empty and name not in (*cfg, *given, "self", "params"):
            raise ConfigError(
                f"{key}.{name} is not set: {key}._target_={cfg['_target_']} needs it; set it "
                f"in the config ({name}: ...), or give its constructor a default"
            )


def constructor_arguments(target: Any) -> tuple[dict[str, inspect.Parameter], bool]:
    """The named parameters ``target`` takes, following a class's ``**settings`` up its
    bases' constructors to one without them (InfoGanTask's GanTask), and whether it takes
    names beyond those (``**kwargs`` that reach no such constructor)."""
    functions = [target]
    if inspect.isclass(target):
        functions = [vars(k)["__init__"] for k in target.__mro__[:-1] if "__init__" in vars(k)]
    found: dict[str, inspect.Parameter] = {}
    for function in functions or [target]:
        parameters = inspect.signature(function).parameters.values()
        found.update({p.name: p for p in parameters if p.kind not in OPEN and p.name not in found})
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return found, False
    return found, True


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_network_settings(
    key: str, settings: dict[str, Any], image_shape: Sequence[int] | None = None,
    generator: bool = False, target: str = "",
) -> None:  # fmt: skip
    """Raise ``ConfigError`` for a setting of one of aegan's networks (``kernel_size``,
    ``dropout``, ``channels``, ``*_hidden``...) outside what its layers accept: unchecked,
    torch's own error names neither the setting nor the value. ``image_shape``: the
    network's (C, H, W), where it has one; ``generator``: it is a ``Generator``, whose
    ``channels`` (a decoder's ``decoder_channels``) start with the code's start size;
    ``target``: its ``_target_``, whose defaults give the kind of any other setting (one
    that ``conf/`` leaves out, added with ``+``)."""
    generator_widths = "channels" if generator else "decoder_channels"
    try:
        defaults = {n: p.default for n, p in constructor_arguments(get_object(target))[0].items()}
    except Exception:  # not importable: _instantiate names what is wrong with _target_
        defaults = {}
    for name, value in settings.items():
        full = f"{key}.{name}"
        if name == "kernel_size":  # "same" padding: an odd kernel
            check_number(full, value, low=1, high=MAX_KERNEL, integer=True)
            if value % 2 == 0:
                raise ConfigError(f"{full}={value} is not allowed: it must be odd (1, 3, 5, ...)")
            side = min(image_shape[1:]) if image_shape and len(image_shape) == 3 else None
            if side is not None and value > side:  # mostly padding, and minutes a step
                raise ConfigError(
                    f"{full}={value} is not allowed: it must be at most the images' side ({side})"
                )
        elif name == "dropout":  # 1 zeroes every feature: D would see nothing
            check_number(full, value, low=0, high=1, high_open=True)
        elif name.endswith(("channels", "hidden_dims")) and not isinstance(value, int):
            least = {"hidden_dims": 0, generator_widths: 2}.get(name, 1)
            check_sizes(full, value, min_length=least)
            if name == generator_widths and image_shape and len(image_shape) == 3:
                _check_generator_stages(full, list(value), image_shape[1:])
        elif name == "latent_dim":  # a code's width, as the task's own setting
            check_number(full, value, low=1, high=MAX_CODE, integer=True)
        elif name in WIDTHS or name.endswith(("_hidden", "channels")):
            check_number(full, value, low=1, high=MAX_SIZE, integer=True)
        elif name in COUNTS:
            check_number(full, value, low=0, high=MAX_SIZE, integer=True)
        elif name not in defaults:  # named by check_argument_names when the call refuses it
            continue
        elif name == "negative_slope":  # a LeakyReLU's: 0 is a ReLU, 1 no activation
            check_number(full, value, low=0, high=1)
        elif name in CHOICES:
            check_choice(full, value, CHOICES[name])
        else:
            _check_as_default(full, value, defaults[name])


def _check_as_default(key: str, value: Any, default: Any) -> None:
    """``value`` of the kind of its constructor's ``default``: torch reads any text or list
    as a true switch (``spectral_norm: "no"``), and fails on a text slope only at the first
    step, after the data is read."""
    if isinstance(default, bool):
        check_bool(key, value)
    elif _is_number(default):
        check_number(key, value, low_open=True, high_open=True, integer=isinstance(default, int))


def _check_generator_stages(key: str, widths: list[int], side: Sequence[int]) -> None:
    """A generator's widths (projection, stride-1 stage, then one per stride-2 stage but the
    last) no more than the image size has stages for: torch's side of it names the class."""
    try:
        stages = generator_layout(tuple(side))[1] - 1
    except ConfigError:  # a size no generator reaches: the data's check says so
        return
    if len(widths) > 2 + stages:
        height, width = side
        raise ConfigError(
            f"{key}={refused_value(widths)} is not allowed: at {height}x{width} a generator "
            "takes at most "
            f"{2 + stages} widths (the projection, the stride-1 stage and {stages} stride-2 "
            f"stage{'s' * (stages != 1)}), e.g. {refused_value(widths[: 2 + stages])}"
        )


def zero_size_setting(key: str, settings: dict[str, Any]) -> str:
    """``key.name=value`` of the setting that holds a size of 0, else ``key``; a list of
    sizes before a count (a count of 0 can be meant: no labels)."""
    zeros = [name for name, value in settings.items() if 0 in _sizes_in(value)]
    zeros.sort(key=lambda name: not isinstance(plain_value(settings[name]), list))
    return f"{key}.{zeros[0]}={plain_value(settings[zeros[0]])}" if zeros else key


def _sizes_in(value: Any) -> list[int]:
    """The integers of a setting: itself, or the entries of a list of them."""
    values = list(value) if isinstance(value, (list, tuple, ListConfig)) else [value]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
